-- In-memory SQLite workload for the LD_PRELOAD tests (sqlite3 CLI, read from
-- stdin). Deterministic: no random(), no dates. Every result it prints must be
-- identical with and without libhakmem.so preloaded.
.bail on
.headers off
.mode list
PRAGMA cache_size = -65536;

-- Pseudo-random strings of 2..90 characters from a multiplicative hash.
CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER NOT NULL, grp INTEGER NOT NULL, s TEXT NOT NULL, b BLOB);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 60000),
h(x, v) AS (SELECT x, (x * 2654435761) % 4294967296 FROM c)
INSERT INTO t(id, k, grp, s, b)
SELECT x, v, v % 97,
       printf('%s%08x%s',
              replace(hex(zeroblob(v % 23)), '00', char(97 + v % 26, 97 + (v / 26) % 26)),
              v,
              substr('the quick brown fox jumps over the lazy dog', 1 + v % 11, v % 31)),
       CASE WHEN x % 50 = 0 THEN zeroblob(x % 40000) ELSE CAST(printf('%x', v) AS BLOB) END
FROM h;

CREATE TABLE g(grp INTEGER PRIMARY KEY, name TEXT, weight INTEGER);
WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c WHERE x < 96)
INSERT INTO g SELECT x, 'group-' || x || '-' || hex(x * 7919), (x * 37) % 101 FROM c;

-- A second table of multi-megabyte values (each > 1 MiB).
CREATE TABLE big(id INTEGER PRIMARY KEY, data BLOB, txt TEXT);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 6)
INSERT INTO big SELECT x, zeroblob(x * 700000), replace(hex(zeroblob(x * 300000)), '0', char(64 + x)) FROM c;

CREATE INDEX t_k ON t(k);
CREATE INDEX t_grp_s ON t(grp, s);
CREATE INDEX t_len ON t(length(s));

SELECT 'rows', count(*), sum(length(s)), sum(length(b)), min(s), max(s) FROM t;
SELECT 'digest', sum((id * 31 + length(s) * 7 + unicode(substr(s, 5, 1))) % 1000003) FROM t;
SELECT 'big', id, length(data), length(txt), substr(txt, 1, 5) FROM big ORDER BY id;

-- Joins and grouping.
SELECT 'join', g.name, count(*), sum(t.k % 1000), max(length(t.s))
FROM t JOIN g USING (grp)
GROUP BY g.grp HAVING count(*) > 600 ORDER BY count(*) DESC, g.grp LIMIT 8;
SELECT 'weight', g.weight % 5, count(*), total(length(t.s))
FROM g JOIN t ON t.grp = g.grp GROUP BY 2 ORDER BY 2;
SELECT 'range', count(*), min(id), max(id) FROM t WHERE k BETWEEN 1000000000 AND 1500000000;
SELECT 'like', count(*) FROM t WHERE s LIKE '%fox%';

-- Window functions and a big string built by group_concat (realloc growth).
SELECT 'window', id, s, running FROM (
  SELECT id, s, sum(length(s)) OVER (PARTITION BY grp ORDER BY id) AS running,
         row_number() OVER (PARTITION BY grp ORDER BY k DESC) AS rn
  FROM t) WHERE rn = 1 ORDER BY id LIMIT 5;
SELECT 'concat', length(group_concat(s, ',')), length(group_concat(hex(b), '')) FROM t;
SELECT 'json', length(json_group_array(json_object('id', id, 's', s))) FROM t WHERE id % 3 = 0;

-- Updates that grow rows, deletes, and a temp table from a sort.
UPDATE t SET s = s || upper(s) || s WHERE id % 5 = 0;
DELETE FROM t WHERE k % 3 = 0;
DELETE FROM big WHERE id % 2 = 0;
CREATE TEMP TABLE sorted AS SELECT s, k FROM t ORDER BY s DESC, k LIMIT 20000;
SELECT 'after', count(*), sum(length(s)), (SELECT count(*) FROM sorted), (SELECT min(s) FROM sorted) FROM t;
SELECT 'distinct', count(DISTINCT s), count(DISTINCT grp), count(DISTINCT length(s)) FROM t;

-- Recursive CTE with a growing string per row.
WITH RECURSIVE r(i, acc) AS (
  SELECT 1, 'x' UNION ALL
  SELECT i + 1, acc || printf('%d', i * i) FROM r WHERE i < 3000)
SELECT 'cte', max(i), length(max(acc)), sum(length(acc)) FROM r;

PRAGMA integrity_check;
VACUUM;
PRAGMA integrity_check;
SELECT 'final', count(*), sum(length(s)), sum(k % 65536) FROM t;
SELECT 'final-big', count(*), sum(length(data)) FROM big;
DROP TABLE t;
DROP TABLE big;
SELECT 'tables', count(*) FROM sqlite_master;
