from benchmark.cli import main

# Worker processes are spawned and import the main module as __mp_main__:
# the guard keeps them from running the command again.
if __name__ == "__main__":
    raise SystemExit(main())
