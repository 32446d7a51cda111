-- Segment rows of a few KiB (a batch's events of one resource, compressed) stay in the table's pages. Past the
-- default threshold of 2 KiB, each blob was moved out of line into TOAST: one more row and index entry for each
-- 2 KiB, the larger part of the cost of storing flight data. Larger segments are still moved out.
alter table telemetry_segment set (toast_tuple_target = 8160);
