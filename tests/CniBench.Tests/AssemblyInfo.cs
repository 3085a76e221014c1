// Integration tests push real traffic through loopback on a 2-core machine: run them one at a time
// so they neither slow each other down nor skew each other's measurements.
[assembly: Xunit.v3.Parallelization(Mode = Xunit.Sdk.ParallelMode.None)]
