"""Run one experiment or a sweep: ``python -m runners.run experiment=family/name [k=v ...]``.

Without an experiment it lists the available ones and exits with status 2; an unknown
experiment or group choice (``data=``, ``model=``, ...) lists the valid names likewise.
"""

import os

from runners.catalog import exit_on_bad_argv, new_run_stamp

if __name__ == "__main__":
    exit_on_bad_argv()
    # a new command gets a new stamp even when started from a process that had one;
    # launcher workers import runners.app directly and keep their sweep's stamp
    os.environ["SCALELAB_RUN_STAMP"] = new_run_stamp()
    from runners.app import main

    main()
