"""The Python helpers shared by the test drivers of tests/, the benchmarks of
bench/ and the demo (scripts/demo.sh).

Found through PYTHONPATH=<repo>/tests/lib: CTest sets it for every test; the
scripts that start Python (tests/lib/run_driver.sh, tests/lib/harness.sh,
scripts/demo.sh) export it themselves, so they also work when run by hand;
the programs of bench/ set it and start again when it is missing.

Modules:
  stack     the whole stack on loopback (simulators, exporter, Prometheus,
            Alertmanager, webhook recorder): writes their configurations,
            starts each process in a process group of its own and stops them
            all again; also a program, `python3 -m triagetest.stack demo|reap`
  driver    what the Python test drivers share: a work directory, a Stack,
            PASS/FAIL checks counted, "N passed, N failed", BUILD/artifacts
  benchlib  the benchmarks' pieces (a loopback nginx, wrk, blackbox_exporter)
            and what the tests use too: CPU and memory of a process from
            /proc, the exporter's /metrics read and parsed
  hostile_server
            misbehaving HTTP and TLS targets, in the test's own process
            (tests/hostile, tests/load/shutdown_test.py)

Standard library only. Nothing is imported here: `import triagetest` loads no
module, so `python3 -m triagetest.stack` runs the module once.
"""
