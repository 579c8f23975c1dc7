-- PostgreSQL's 0034 leaves room on the pages of jobs for the next versions of its rows
-- (fillfactor). SQLite has no such setting (a b-tree table rewrites the row in place), so
-- this migration only keeps the two engines' numbering equal.
SELECT 1;
