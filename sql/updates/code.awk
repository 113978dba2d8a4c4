# The code of the install parts, for an update script: every line but the
# STATE blocks (tables, the version type: what an update keeps and changes
# in place).  Fails on a block left open.
/^-- STATE:/    { if (in_state) { print FILENAME ": STATE block inside a STATE block" > "/dev/stderr"; exit 1 }
                  in_state = 1; next }
/^-- END STATE/ { if (!in_state) { print FILENAME ": END STATE without STATE" > "/dev/stderr"; exit 1 }
                  in_state = 0; next }
FNR == 1 && in_state { print FILENAME ": the previous part leaves a STATE block open" > "/dev/stderr"; exit 1 }
!in_state
END { if (in_state) { print FILENAME ": STATE block left open" > "/dev/stderr"; exit 1 } }
