-- Statements the store runs to write a dataset version (src/store/version.rs). Each statement
-- ends with a line `-- end`; the store reads them by their leading `-- name:` line.

-- name: insert_version
INSERT INTO dataset_version (version, created_at, k, k_fine, round_to, catalogue_sha256,
    fingerprint, rows_read, rows_rejected, boundary_year, boundary_imports)
VALUES (?, now()::TIMESTAMP, ?, ?, ?, ?, ?, ?, ?, ?, ?)
-- end

-- name: create_computed
CREATE TEMP TABLE IF NOT EXISTS computed_indicator (indicator VARCHAR NOT NULL)
-- end

-- name: clear_computed
DELETE FROM computed_indicator
-- end

-- name: carry_aggregates
INSERT INTO aggregate
SELECT ?, level, code, period, indicator, count, rate, denominator FROM aggregate
WHERE version = ? AND indicator NOT IN (SELECT indicator FROM computed_indicator)
-- end

-- name: carry_coverage
INSERT INTO coverage
SELECT ?, level, period, indicator, areas, published, suppressed, rates FROM coverage
WHERE version = ? AND indicator NOT IN (SELECT indicator FROM computed_indicator)
-- end

-- name: carry_units
INSERT INTO unit
SELECT ?, u.level, u.code, u.naam, u.parent, u.wijk, u.gemeente, u.geometry, u.lon, u.lat,
       u.min_lon, u.min_lat, u.max_lon, u.max_lat, u.geometry_rd
FROM unit u
WHERE u.version = ?
  AND NOT EXISTS (SELECT 1 FROM unit n WHERE n.version = ? AND n.level = u.level AND n.code = u.code)
-- end

-- name: retain_aggregate
DELETE FROM aggregate WHERE version <= ?
-- end

-- name: retain_coverage
DELETE FROM coverage WHERE version <= ?
-- end

-- name: retain_unit
DELETE FROM unit WHERE version <= ?
-- end

-- name: retain_indicator
DELETE FROM indicator WHERE version <= ?
-- end

-- name: retain_theme
DELETE FROM theme WHERE version <= ?
-- end

-- name: retain_dataset_extract
DELETE FROM dataset_extract WHERE version <= ?
-- end

-- name: insert_intervention
INSERT INTO intervention (naam, level, codes, start_date, end_date, created_at, targets)
VALUES (?, ?, ?, ?::DATE, ?::DATE, now()::TIMESTAMP, ?) RETURNING id
-- end
