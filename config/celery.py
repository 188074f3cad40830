import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("pointsops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def beat_schedule(periodic_tasks: dict[str, dict]) -> dict[str, dict]:
    """settings.PERIODIC_TASKS as a beat schedule: `run_periodic` (make run) reads the same table."""
    return {
        name: {"task": spec["task"], "schedule": float(spec["seconds"])}
        for name, spec in periodic_tasks.items()
    }


@app.on_after_configure.connect
def _install_beat_schedule(sender, **kwargs):
    # Read once Django's settings are loaded, not at import: config/__init__ imports this module
    # while the settings module itself may still be importing.
    from django.conf import settings

    sender.conf.beat_schedule = beat_schedule(settings.PERIODIC_TASKS)
