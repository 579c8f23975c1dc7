-- PostgreSQL's 0037 widens the tenant search bounds once per INSERT statement (a transition
-- table). SQLite has no statement-level triggers; its per-row triggers run in-process and
-- seed 100k tenants in seconds, so this migration only keeps the two engines' numbering equal.
SELECT 1;
