-- The seed's check that the rows arrived: read a few back from PostgreSQL (raw SQL).
SELECT * FROM ny_taxi.yellow_taxi_data LIMIT 5;
