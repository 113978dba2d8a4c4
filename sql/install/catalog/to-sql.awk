# Turns sql/install/catalog/*.tsv into the shipped catalog's rows.
# Lines starting with '#' and each file's header line are skipped.
function q(s) { gsub(/'/, "''", s); return s == "" ? "NULL" : "'" s "'" }
function shipped_table(file) {
    return file ~ /releases/ ? "medup.release_shipped" \
         : file ~ /data_migrations/ ? "medup.data_migration_shipped" \
         : file ~ /migration_work/ ? "medup.migration_work_shipped" \
         : file ~ /migration_indexes/ ? "medup.migration_index_shipped" : "medup.schema_version_shipped"
}
# "a,b" -> ARRAY['a', 'b']::text[]
function text_array(s,    n, parts, i, out) {
    n = split(s, parts, ",")
    out = ""
    for (i = 1; i <= n; i++) out = out (i > 1 ? ", " : "") q(parts[i])
    return "ARRAY[" out "]::text[]"
}
# The index builds are thousands of rows: 500 to an INSERT.
function flush_indexes() {
    if (pending != "") printf "INSERT INTO medup.migration_index_shipped VALUES\n%s;\n", pending
    pending = ""; npending = 0
}
BEGIN { FS = "\t" }
# Each file replaces what an earlier release shipped (update scripts end
# with this too); what the DBA loaded is in other tables and stays.
FNR == 1 { flush_indexes(); printf "DELETE FROM %s;\n", shipped_table(FILENAME) }
/^#/ { next }
FNR == 1 || $1 == "version" || $1 == "data_version" || $1 == "schema_version" { next }
FILENAME ~ /releases/ {
    printf "INSERT INTO medup.release_shipped VALUES (%s, %s, %s);\n", q($1), q($2), q($3)
    next
}
FILENAME ~ /data_migrations/ {
    printf "INSERT INTO medup.data_migration_shipped VALUES (%s, %s, %s);\n", $1, q($2), q($3)
}
FILENAME ~ /schema_versions/ {
    printf "INSERT INTO medup.schema_version_shipped VALUES (%s, %s);\n", $1, q($2)
}
FILENAME ~ /migration_work/ {
    printf "INSERT INTO medup.migration_work_shipped VALUES (%s, %s, %s, %s, %s, %s, %s, %s, make_interval(secs => %s), make_interval(secs => %s), %s);\n", \
        $1, q($2), q($3), ($4 == "" ? "'{}'::text[]" : text_array($4)), ($5 == "" ? "NULL" : $5), q($6), $7, $8, $9, $10, q($11)
}
FILENAME ~ /migration_indexes/ {
    pending = pending (npending > 0 ? ",\n" : "") sprintf("(%s, %s, %s, %s, %s)", $1, q($2), q($3), q($4), q($5))
    if (++npending == 500) flush_indexes()
}
END { flush_indexes() }
