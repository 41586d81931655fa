-- The seed's taxi_data_to_gcs_parquet, to a local folder: one Parquet file.
COPY (SELECT * FROM {{ df_1 }})
TO '{{ repo_path }}/output/nyc_taxi_data.parquet' (FORMAT parquet, USE_TMP_FILE true);
