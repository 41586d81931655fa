-- The seed's load_api_data, in SQL: read the NYC yellow-taxi trips (csv.gz) from a URL or a path.
-- `source_url` is a pipeline variable; override it with
--   kiln run ... --runtime-vars '{"source_url": "https://github.com/DataTalksClub/nyc-tlc-data/releases/download/yellow/yellow_tripdata_2021-01.csv.gz"}'
-- Relative paths are looked up in the working directory, then in the project folder.
SELECT *
FROM read_csv('{{ source_url }}', header = true)
