-- The seed's connection test: one row holding 1 when the dev profile reaches PostgreSQL.
SELECT 1;
