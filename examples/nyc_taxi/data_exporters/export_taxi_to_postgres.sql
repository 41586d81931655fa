-- The seed's taxi_data_to_postgres: write the cleaned trips to ny_taxi.yellow_taxi_data
-- (profile dev; data_provider_schema / data_provider_table / export_write_policy in the
-- pipeline file). Kiln streams {{ df_1 }} straight into the table with binary COPY.
SELECT * FROM {{ df_1 }}
