-- The seed's taxi_data_to_gcs_partitioned_parquet, to a local folder: Parquet partitioned by
-- pickup date (Hive layout: tpep_pickup_date=2021-01-01/data_0.parquet).
COPY (
  SELECT *, CAST(tpep_pickup_datetime AS DATE) AS tpep_pickup_date
  FROM {{ df_1 }}
)
TO '{{ repo_path }}/output/nyc_taxi_data' (FORMAT parquet, PARTITION_BY (tpep_pickup_date), OVERWRITE true);
