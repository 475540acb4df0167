-- Wijkradar database: aggregates only. No row of a partner extract, no identifier, postcode +
-- house number or coordinate of an address is ever written here.

-- One row per ingest. The disclosure-control parameters travel with every version.
CREATE TABLE IF NOT EXISTS dataset_version (
    version          INTEGER PRIMARY KEY,
    created_at       TIMESTAMP NOT NULL,
    k                INTEGER NOT NULL,
    k_fine           INTEGER NOT NULL,
    round_to         INTEGER NOT NULL,
    catalogue_sha256 VARCHAR NOT NULL,
    fingerprint      VARCHAR NOT NULL,  -- sha256 over the extracts' content hashes and the parameters
    rows_read        BIGINT NOT NULL,
    rows_rejected    BIGINT NOT NULL,
    boundary_year    INTEGER NOT NULL
);
-- Which boundary imports (boundary_import.id, comma-separated) the version was located in;
-- empty: the shipped boundaries only.
ALTER TABLE dataset_version ADD COLUMN IF NOT EXISTS boundary_imports VARCHAR DEFAULT '';

-- Boundary files imported with `wijkradar boundaries import` (the CBS Wijk- en Buurtkaart,
-- PC4 areas), laid over the shipped ones from the next ingest on. Versions written before an
-- import keep the units they were located in. Public geography only.
CREATE TABLE IF NOT EXISTS boundary_import (
    id           INTEGER PRIMARY KEY,
    imported_at  TIMESTAMP NOT NULL,
    level        VARCHAR NOT NULL,   -- gemeenten, wijken, buurten, pc4
    year         INTEGER NOT NULL,
    source       VARCHAR NOT NULL,   -- file name, and the layer of a GeoPackage
    content_hash VARCHAR NOT NULL,   -- sha256 of the file
    areas        INTEGER NOT NULL,
    water        INTEGER NOT NULL    -- water-only areas left out
);
CREATE TABLE IF NOT EXISTS boundary_area (
    import_id INTEGER NOT NULL,
    code      VARCHAR NOT NULL,
    naam      VARCHAR NOT NULL,
    wijk      VARCHAR,
    gemeente  VARCHAR,
    inwoners  DOUBLE,
    woningen  DOUBLE,
    plaats    VARCHAR,
    geometry  VARCHAR NOT NULL,      -- GeoJSON MultiPolygon (CRS84)
    PRIMARY KEY (import_id, code)
);
-- The outline as the source gave it in RD New (EPSG:28992), where the source is in RD New:
-- output in RD New uses it, so that it is lossless.
ALTER TABLE boundary_area ADD COLUMN IF NOT EXISTS geometry_rd VARCHAR;

-- Which files a version was built from (file name and content hash, never content).
CREATE TABLE IF NOT EXISTS dataset_extract (
    version   INTEGER NOT NULL,
    source    VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    content_hash VARCHAR NOT NULL,   -- xxh3-128 of the file
    rows      BIGINT NOT NULL,
    rejected  BIGINT NOT NULL
);

-- The catalogue as it was used for a version.
CREATE TABLE IF NOT EXISTS indicator (
    version         INTEGER NOT NULL,
    id              VARCHAR NOT NULL,
    naam            VARCHAR NOT NULL,
    name_en         VARCHAR NOT NULL,
    theme           VARCHAR NOT NULL,
    sources         VARCHAR NOT NULL,
    partners        VARCHAR NOT NULL,
    legal_basis     VARCHAR NOT NULL,
    unit            VARCHAR NOT NULL,
    scale           DOUBLE NOT NULL,
    polarity        VARCHAR NOT NULL,
    min_denominator DOUBLE NOT NULL,
    enforcement     BOOLEAN NOT NULL,
    mean            BOOLEAN NOT NULL,   -- numerator is a sum: the rate is a mean, the count its units
    kort            VARCHAR,            -- short name for tables and charts
    PRIMARY KEY (version, id)
);
-- Databases written before indicators had a short name.
ALTER TABLE indicator ADD COLUMN IF NOT EXISTS kort VARCHAR;

-- Themes and their weights in the pressure index, as used for a version.
CREATE TABLE IF NOT EXISTS theme (
    version INTEGER NOT NULL,
    id      VARCHAR NOT NULL,
    naam    VARCHAR NOT NULL,
    weight  DOUBLE NOT NULL,
    PRIMARY KEY (version, id)
);

-- Spatial units with at least one address in the data, plus every buurt and wijk of a
-- gemeente in the data. Geometry as GeoJSON (CRS84), computed once at ingest.
CREATE TABLE IF NOT EXISTS unit (
    version  INTEGER NOT NULL,
    level    VARCHAR NOT NULL,   -- gemeenten, wijken, buurten, pc4, pc6, h3-7 … h3-10
    code     VARCHAR NOT NULL,
    naam     VARCHAR,
    parent   VARCHAR,            -- next coarser unit in the same family
    wijk     VARCHAR,
    gemeente VARCHAR NOT NULL,
    geometry VARCHAR NOT NULL,
    lon      DOUBLE NOT NULL,
    lat      DOUBLE NOT NULL,
    min_lon  DOUBLE NOT NULL,
    min_lat  DOUBLE NOT NULL,
    max_lon  DOUBLE NOT NULL,
    max_lat  DOUBLE NOT NULL,
    PRIMARY KEY (version, level, code)
);
-- The outline in RD New where the boundary source gave one (GeoJSON, EPSG:28992 x/y).
ALTER TABLE unit ADD COLUMN IF NOT EXISTS geometry_rd VARCHAR;

-- Published figures only: a rounded count that passed disclosure control, and its rate when
-- the denominator is large enough. A figure that is suppressed (primary or complementary, which
-- are deliberately indistinguishable) or has no data has no row.
CREATE TABLE IF NOT EXISTS aggregate (
    version   INTEGER NOT NULL,
    level     VARCHAR NOT NULL,
    code      VARCHAR NOT NULL,
    period    VARCHAR NOT NULL,   -- 2025-Q3
    indicator VARCHAR NOT NULL,
    count     BIGINT NOT NULL,    -- multiple of round_to, from at least k units
    rate      DOUBLE,             -- NULL when the denominator is below the indicator's minimum;
                                  -- for counts: from the rounded count and denominator
    denominator BIGINT            -- rounded like a count; NULL where the rate is
);
-- Databases written before the denominator was published.
ALTER TABLE aggregate ADD COLUMN IF NOT EXISTS denominator BIGINT;

-- What disclosure control did per level, quarter and indicator (counts of areas, no values).
CREATE TABLE IF NOT EXISTS coverage (
    version    INTEGER NOT NULL,
    level      VARCHAR NOT NULL,
    period     VARCHAR NOT NULL,
    indicator  VARCHAR NOT NULL,
    areas      BIGINT NOT NULL,   -- areas with data
    published  BIGINT NOT NULL,
    suppressed BIGINT NOT NULL,
    rates      BIGINT NOT NULL    -- published rates
);

-- LSI projects, recorded by a beheerder (areas as unit codes, dates as quarters).
CREATE SEQUENCE IF NOT EXISTS intervention_seq;
CREATE TABLE IF NOT EXISTS intervention (
    id          INTEGER PRIMARY KEY DEFAULT nextval('intervention_seq'),
    naam        VARCHAR NOT NULL,
    level       VARCHAR NOT NULL,
    codes       VARCHAR NOT NULL,       -- comma-separated unit codes
    start_date  DATE NOT NULL,
    end_date    DATE NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    targets     VARCHAR NOT NULL DEFAULT ''  -- comma-separated indicator ids the project aims at
);
-- Databases written before projects had target indicators.
ALTER TABLE intervention ADD COLUMN IF NOT EXISTS targets VARCHAR DEFAULT '';
