-- Write the cleaned trips to the warehouse table ny_taxi.yellow_taxi_data
-- (data_provider_schema / data_provider_table / export_write_policy in the pipeline file).
SELECT * FROM {{ df_1 }}
