#!/usr/bin/python3
"""What a screen reader sees of one application: its push buttons and
labels, as JSON on stdout. Usage: atspi.py PID (with the dialog's
DBUS_SESSION_BUS_ADDRESS, so the accessibility bus is the dialog's)."""
import json
import sys

import pyatspi


def main():
    pid = int(sys.argv[1])
    desktop = pyatspi.Registry.getDesktop(0)
    for app in desktop:
        if app is None:
            continue
        try:
            if app.get_process_id() != pid:
                continue
        except Exception:  # an application that went away meanwhile
            continue
        buttons, labels = [], []
        for acc in pyatspi.findAllDescendants(app, lambda a: a.getRole() in (pyatspi.ROLE_PUSH_BUTTON, pyatspi.ROLE_LABEL)):
            states = acc.getState()
            item = {
                "name": acc.name,
                "description": acc.description,
                "sensitive": states.contains(pyatspi.STATE_SENSITIVE),
                "showing": states.contains(pyatspi.STATE_SHOWING),
            }
            (buttons if acc.getRole() == pyatspi.ROLE_PUSH_BUTTON else labels).append(item)
        json.dump({"buttons": buttons, "labels": labels}, sys.stdout)
        return 0
    print("no accessible application with pid %d" % pid, file=sys.stderr)
    return 1


sys.exit(main())
