-- The seed's transform_taxi_data: drop the rides without passengers.
SELECT *
FROM {{ df_1 }}
WHERE passenger_count > 0
