-- medup's benchmark timers, loaded by bench/run.sh into its private
-- cluster's database bench, in the schema medup_bench.
--
-- The timer.  medup_bench.timeit(queries, settings) wraps each query in a
-- plpgsql function medup_bench._loop_K(n) that runs
--   PERFORM count(q) FROM (query) q
-- n times (static SQL: planned once, like a prepared statement) and returns
-- ms per call; settings[K], if given, is a SET clause of that function (e.g.
-- SET medup.medplum_schema = 'bench_1000').  count(q), not count(*): with
-- count(*) the planner drops an aggregate subquery whose output is unused,
-- and nothing would be measured.
-- Each loop is called once to warm up and once more to pick n so that one
-- repeat takes about target_ms (at most max_iter calls); then `repeats`
-- rounds run every query once each, interleaved.  One row per query: the
-- median, fastest and slowest per-call time, n, and the median over the
-- rounds of (this query's time / the first query's time).
CREATE SCHEMA medup_bench;
CREATE FUNCTION medup_bench.timeit(queries text[], settings text[] DEFAULT NULL,
                                   max_iter integer DEFAULT 2000, repeats integer DEFAULT 5,
                                   target_ms float8 DEFAULT 400)
RETURNS TABLE (query_no integer, median_ms float8, min_ms float8, max_ms float8,
               calls integer, ratio_to_first float8)
LANGUAGE plpgsql AS $timeit$
DECLARE
    nq       integer := cardinality(queries);
    iters    integer[] := '{}';
    t        float8[] := '{}';      -- round r, query i at (r - 1) * nq + i
    estimate float8;
    x        float8;
BEGIN
    FOR i IN 1..nq LOOP
        EXECUTE format($create$
            CREATE OR REPLACE FUNCTION medup_bench._loop_%s(n integer) RETURNS float8
            LANGUAGE plpgsql %s AS $loop$
            DECLARE
                t0 timestamptz;
            BEGIN
                t0 := clock_timestamp();
                FOR i IN 1..n LOOP
                    PERFORM count(q) FROM (%s) q;
                END LOOP;
                RETURN extract(epoch FROM clock_timestamp() - t0) * 1000 / n;
            END
            $loop$ $create$, i, coalesce(settings[i], ''), queries[i]);
        EXECUTE format('SELECT medup_bench._loop_%s(1)', i) INTO estimate;      -- warm-up
        IF estimate < target_ms THEN                                            -- else: 1 call
            EXECUTE format('SELECT medup_bench._loop_%s(1)', i) INTO estimate;
            IF estimate < target_ms / 100 THEN                                  -- finer
                EXECUTE format('SELECT medup_bench._loop_%s(least(20, $1))', i)
                    INTO estimate USING max_iter;
            END IF;
        END IF;
        iters := iters || greatest(1, least(max_iter, ceil(target_ms / greatest(estimate, 1e-6))))::integer;
    END LOOP;
    FOR r IN 1..repeats LOOP
        FOR i IN 1..nq LOOP
            EXECUTE format('SELECT medup_bench._loop_%s($1)', i) INTO x USING iters[i];
            t := t || x;
        END LOOP;
    END LOOP;
    RETURN QUERY
        WITH m AS (SELECT (o - 1) / nq + 1 AS rnd, ((o - 1) % nq + 1)::integer AS qno, v
                   FROM unnest(t) WITH ORDINALITY u(v, o))
        SELECT a.qno, percentile_cont(0.5) WITHIN GROUP (ORDER BY a.v), min(a.v), max(a.v),
               iters[a.qno], percentile_cont(0.5) WITHIN GROUP (ORDER BY a.v / nullif(b.v, 0))
        FROM m a JOIN m b ON b.rnd = a.rnd AND b.qno = 1
        GROUP BY a.qno ORDER BY a.qno;
END
$timeit$;

-- The timer for calls that write: medup_bench.timeit_tx does what timeit
-- does, but every call is its own transaction (a plpgsql procedure that
-- COMMITs after each call), as in the worker, which commits every sample.
-- So the commit (a WAL flush) is measured, and nothing piles up inside one
-- long transaction: updating medup.sampler's one row thousands of times in
-- one transaction leaves a chain of row versions that no one may prune yet,
-- and each update walks it (0.01 ms at the first call, 0.08 ms after 5000,
-- measured), which would bill sample() for an artifact of the loop.
-- A procedure that commits may not have a SET clause, and a dynamic CALL
-- may not commit: settings[K] is a statement the loop runs first (e.g.
-- SET medup.medplum_schema = 'bench_1000', session-wide), and
-- prepare_tx() writes a driver procedure with static CALLs.  The driver
-- stores the per-round times in medup_bench.tx_time; tx_summary() reads
-- them as timeit() returns its rows.
CREATE TABLE medup_bench.tx_time (rnd integer, query_no integer, ms float8, calls integer);
CREATE FUNCTION medup_bench.prepare_tx(queries text[], settings text[]) RETURNS void
LANGUAGE plpgsql AS $prep$
DECLARE
    nq      integer := cardinality(queries);
    warm    text := '';
    rounds  text := '';
BEGIN
    FOR i IN 1..nq LOOP
        EXECUTE format($create$
            CREATE OR REPLACE PROCEDURE medup_bench._txloop_%s(n integer, INOUT ms float8 DEFAULT NULL)
            LANGUAGE plpgsql AS $loop$
            DECLARE
                t0 timestamptz;
            BEGIN
                %s
                COMMIT;
                t0 := clock_timestamp();
                FOR i IN 1..n LOOP
                    PERFORM count(q) FROM (%s) q;
                    COMMIT;
                END LOOP;
                ms := extract(epoch FROM clock_timestamp() - t0) * 1000 / n;
            END
            $loop$ $create$, i,
            CASE WHEN settings[i] IS NOT NULL THEN format('EXECUTE %L;', settings[i]) ELSE '' END,
            queries[i]);
        warm := warm || format($w$
                CALL medup_bench._txloop_%1$s(1, est);                  -- warm-up
                IF est < target_ms THEN                                 -- else: 1 call
                    CALL medup_bench._txloop_%1$s(1, est);
                    IF est < target_ms / 100 THEN                       -- finer
                        CALL medup_bench._txloop_%1$s(least(20, max_iter), est);
                    END IF;
                END IF;
                iters[%1$s] := greatest(1, least(max_iter, ceil(target_ms / greatest(est, 1e-6))))::integer;
            $w$, i);
        rounds := rounds || format($r$
                    CALL medup_bench._txloop_%1$s(iters[%1$s], x);
                    INSERT INTO medup_bench.tx_time VALUES (r, %1$s, x, iters[%1$s]);
            $r$, i);
    END LOOP;
    EXECUTE format($create$
        CREATE OR REPLACE PROCEDURE medup_bench._txdrive(max_iter integer, repeats integer, target_ms float8)
        LANGUAGE plpgsql AS $drive$
        DECLARE
            iters integer[] := '{}';
            est   float8;
            x     float8;
        BEGIN
            DELETE FROM medup_bench.tx_time;
            %s
            FOR r IN 1..repeats LOOP
                %s
            END LOOP;
        END
        $drive$ $create$, warm, rounds);
END
$prep$;
CREATE FUNCTION medup_bench.tx_summary()
RETURNS TABLE (query_no integer, median_ms float8, min_ms float8, max_ms float8,
               calls integer, ratio_to_first float8)
LANGUAGE sql AS $$
    SELECT a.query_no, percentile_cont(0.5) WITHIN GROUP (ORDER BY a.ms), min(a.ms), max(a.ms),
           max(a.calls), percentile_cont(0.5) WITHIN GROUP (ORDER BY a.ms / nullif(b.ms, 0))
    FROM medup_bench.tx_time a JOIN medup_bench.tx_time b ON b.rnd = a.rnd AND b.query_no = 1
    GROUP BY a.query_no ORDER BY a.query_no
$$;
