//! How long decoding Parquet extracts alone takes, with no row work: the floor under the
//! ingest's reading pass (BENCHMARKS.md, "What decoding alone costs").
//!
//! Every column of every file is decoded by arrow-rs as the ingest decodes them (text other
//! than the id kept dictionary-encoded), batches of 8,192 rows, on as many threads as the
//! machine has cores, each taking the next row group.
//!
//! `cargo run --release --example decode_parquet -- EXTRACT.parquet…`

use duckdb::arrow::datatypes::{DataType, Schema};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files: Vec<String> = std::env::args().skip(1).collect();
    let mut metas = Vec::new();
    let mut groups = Vec::new();
    for (i, path) in files.iter().enumerate() {
        let meta =
            ArrowReaderMetadata::load(&std::fs::File::open(path)?, ArrowReaderOptions::new())?;
        let fields: Vec<_> = meta
            .schema()
            .fields()
            .iter()
            .map(|f| {
                if f.name() != "id" && f.data_type() == &DataType::Utf8 {
                    let dict =
                        DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
                    Arc::new(f.as_ref().clone().with_data_type(dict))
                } else {
                    f.clone()
                }
            })
            .collect();
        let hinted = ArrowReaderOptions::new().with_schema(Arc::new(Schema::new(fields)));
        let meta = ArrowReaderMetadata::try_new(meta.metadata().clone(), hinted)?;
        groups.extend((0..meta.metadata().num_row_groups()).map(|g| (i, g)));
        metas.push(meta);
    }
    let threads = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    let next = AtomicUsize::new(0);
    let start = std::time::Instant::now();
    let rows = std::thread::scope(|s| -> Result<usize, String> {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| -> Result<usize, String> {
                    let mut rows = 0;
                    while let Some(&(i, g)) = groups.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let f = std::fs::File::open(&files[i]).map_err(|e| e.to_string())?;
                        let reader =
                            ParquetRecordBatchReaderBuilder::new_with_metadata(f, metas[i].clone())
                                .with_row_groups(vec![g])
                                .with_batch_size(8192)
                                .build()
                                .map_err(|e| e.to_string())?;
                        for batch in reader {
                            rows += batch.map_err(|e| e.to_string())?.num_rows();
                        }
                    }
                    Ok(rows)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().map_err(|_| "a thread panicked".to_string())?)
            .sum()
    })?;
    let secs = start.elapsed().as_secs_f64();
    #[expect(clippy::cast_precision_loss, reason = "a rate")]
    let rate = rows as f64 / secs / 1e6;
    println!("{rows} rows decoded in {secs:.2} s on {threads} threads: {rate:.1} M rows/s");
    Ok(())
}
