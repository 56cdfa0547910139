"""Run an RQ worker for sender: `python worker.py [--burst] [--without-scheduler] [--queues transactional,email,sms,default]`.

The worker itself is built in sender/tasks/worker.py; this script is what deployments start (any number of them).
"""

import sys

from sender.cli import main

if __name__ == "__main__":
    main(["worker", *sys.argv[1:]])
