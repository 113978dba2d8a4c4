# Turns sql/install/catalog/*.tsv into the shipped catalog's rows.
# Lines starting with '#' and each file's header line are skipped.
function q(s) { gsub(/'/, "''", s); return s == "" ? "NULL" : "'" s "'" }
function shipped_table(file) {
    return file ~ /releases/ ? "medup.release_shipped" \
         : file ~ /data_migrations/ ? "medup.data_migration_shipped" : "medup.schema_version_shipped"
}
BEGIN { FS = "\t" }
# Each file replaces what an earlier release shipped (update scripts end
# with this too); what the DBA loaded is in other tables and stays.
FNR == 1 { printf "DELETE FROM %s;\n", shipped_table(FILENAME) }
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
