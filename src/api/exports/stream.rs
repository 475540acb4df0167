//! An export sent as it is written: pieces through a bounded channel into the response body.

use super::*;

/// Exports are handed to the writer in pieces of about this size.
pub(super) const CHUNK: usize = 64 << 10;

pub(super) fn gone(e: std::io::Error) -> ApiError {
    ApiError::Internal(format!("export not written: {e}"))
}

/// A `Write` that hands the export to the response body in pieces, through a channel of a
/// few pieces: the writer waits while the client reads, so an export of any size holds at
/// most about half a megabyte in memory.
pub(super) struct ChunkWriter {
    pub(super) buf: Vec<u8>,
    pub(super) tx: tokio::sync::mpsc::Sender<Result<axum::body::Bytes, std::io::Error>>,
    pub(super) rt: tokio::runtime::Handle,
}

/// A client that reads nothing of its export for this long is let go.
const STALL: std::time::Duration = std::time::Duration::from_secs(30);

impl std::io::Write for ChunkWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let piece = axum::body::Bytes::from(std::mem::take(&mut self.buf));
        match self
            .rt
            .block_on(tokio::time::timeout(STALL, self.tx.send(Ok(piece))))
        {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the client went away",
            )),
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the client read nothing for 30 s",
            )),
        }
    }
}

/// The receiving end as the response body's stream.
pub(super) struct Pieces(
    pub(super) tokio::sync::mpsc::Receiver<Result<axum::body::Bytes, std::io::Error>>,
);

impl futures_core::Stream for Pieces {
    type Item = Result<axum::body::Bytes, std::io::Error>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}
