"""The studies: the methods compared (accuracy, speed), swept over sizes and depths, against the step;
the kinks in an interval; the example catalog and the agreement checker the tests share."""
