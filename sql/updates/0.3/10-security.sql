/*
 * Hostile neighbours (issue 14): the samples keep a fingerprint of the set
 * of invalid indexes (one event per change of the set), events have two
 * new kinds (20-event-kinds.sql), and medup.sampler counts the events over
 * the cap.
 */
ALTER TABLE medup.sample ADD COLUMN invalid_index_set text;
ALTER TABLE medup.sampler ADD COLUMN events_suppressed bigint NOT NULL DEFAULT 0;
