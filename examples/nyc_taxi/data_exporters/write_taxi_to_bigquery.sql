-- The seed's write_taxi_to_bigquery: the standardised trips into BigQuery table
-- ny_taxi.yellow_cab_data (profile default, append; settings in the pipeline file).
SELECT * FROM {{ df_1 }}
