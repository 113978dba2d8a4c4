-- test/memcheck.sh, in a backend under valgrind, after sql/version_fuzz.sql
-- and sql/version_binary.sql (which CREATE EXTENSION medup came before):
-- upgrade_path and the catalog loaders, on good input and bad.

SELECT count(*) FROM medup.upgrade_path('3.1.2', '4.3.15');

SELECT count(*) FROM medup.upgrade_path('3.1.2', '4.3.15', required_only => true);

SELECT count(*) FROM medup.upgrade_path('3.0.0', 'latest');

SELECT count(*) FROM medup.upgrade_path('4.1.2', '4.3');

SELECT count(*) FROM medup.upgrade_path('4.1.12-1', 'v4.2.6');

DO $$ DECLARE n int := 0;
BEGIN
  FOR t IN 1..6 LOOP
    BEGIN
      PERFORM * FROM medup.upgrade_path((ARRAY['4.3.0', '4.1.2', '4.1.2', '3.1.2', '4.1.2', '9.9.9'])[t],
                                        (ARRAY['4.1.0', '9.0.0', '4.77', 'nonsense', NULL, 'latest'])[t]);
    EXCEPTION WHEN OTHERS THEN n := n + 1;
    END;
  END LOOP;
  RAISE WARNING 'vg: upgrade_path refused % of 6', n;
END $$;

SELECT medup.load_releases('[{"version": "5.3.0", "released_on": "2026-12-01"}, {"version": "v5.2.13", "released_on": "2026-11-20", "source": "GitHub"}, {"version": "5.3.1-1"}]');

SELECT medup.load_releases('[{"version": "5.3.0", "released_on": "2026-12-02"}]');

SELECT medup.load_data_migrations('{"v1": {"serverVersion": "3.3.0", "requiredBefore": "4.0.0", "note": "ignored"}, "v90": {"serverVersion": "5.3.0"}}');

DO $$ DECLARE n int := 0;
BEGIN
  FOR t IN 1..6 LOOP
    BEGIN
      CASE t
        WHEN 1 THEN PERFORM medup.load_releases('[{"version": "5.3"}]');
        WHEN 2 THEN PERFORM medup.load_releases('{"version": "5.3.0"}');
        WHEN 3 THEN PERFORM medup.load_data_migrations('{"v91": {"serverVersion": "x"}}');
        WHEN 4 THEN PERFORM medup.load_data_migrations('[1, 2]');
        WHEN 5 THEN PERFORM medup.load_data_migrations('{"other": {"serverVersion": "5.3.0"}}');
        ELSE PERFORM medup.load_releases('[{"version": "5.4.0", "released_on": "not a date"}]');
      END CASE;
    EXCEPTION WHEN OTHERS THEN n := n + 1;
    END;
  END LOOP;
  RAISE WARNING 'vg: loaders refused % of 6', n;
END $$;

SELECT count(*) FROM medup.upgrade_path('5.2.0', 'latest');

SELECT state FROM medup.status();

DELETE FROM medup.release_loaded;

DELETE FROM medup.data_migration_loaded;
