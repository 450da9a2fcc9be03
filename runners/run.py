"""Run one experiment or a sweep: ``python -m runners.run experiment=family/name [k=v ...]``.

Without an experiment it lists the available ones and exits with status 2; an unknown
experiment or group choice (``data=``, ``model=``, ...) lists the valid names likewise.
"""

from runners.catalog import exit_on_bad_argv

if __name__ == "__main__":
    exit_on_bad_argv()
    from runners.app import main

    main()
