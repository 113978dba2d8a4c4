# Builds migration_indexes.tsv from the report's medplum-migration-indexes.tsv
# (every statement of Medplum's post-deploy migrations, one a line):
#   awk -f indexes-from-report.awk medplum-migration-indexes.tsv > migration_indexes.tsv
# Only the index builds are kept, and of each only what an estimate needs:
# the table, the index's name (to see whether it exists already), its kind
# (what its build rate depends on) and how sure the report is.  Drops and
# ALTERs are counted per migration in migration_work.tsv; definitions and
# sources stay in the report.
BEGIN {
    FS = OFS = "\t"
    print "# Index builds of Medplum's post-deploy migrations (CREATE [UNIQUE] INDEX CONCURRENTLY),"
    print "# from the report medplum-migration-indexes.tsv (v1-v31 from tag v5.0.10; v32-v40, v42-v48,"
    print "# v50 from stored copies of later files) by indexes-from-report.awk.  kind: btree, gin,"
    print "# gin_trgm (a trigram GIN), gist.  confidence: the report's (high -> confirmed for"
    print "# v1-v31, likely after; high (transcribed) -> likely; medium -> uncertain; low -> guess)."
    print "data_version", "table_name", "index_name", "kind", "confidence"
}
FNR == 1 { next }
$2 ~ /^CREATE (UNIQUE )?INDEX/ {
    v = substr($1, 2) + 0
    kind = ($5 ~ /gin_trgm_ops/) ? "gin_trgm" : ($5 ~ /USING gin/) ? "gin" : ($5 ~ /USING gist/) ? "gist" : "btree"
    c = ($6 == "high") ? (v <= 31 ? "confirmed" : "likely") \
      : ($6 ~ /^high/) ? "likely" : ($6 == "medium") ? "uncertain" : "guess"
    print v, $3, $4, kind, c
}
