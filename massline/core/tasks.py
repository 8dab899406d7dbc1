from django_tasks import task

from . import notify


@task()
def send_outbound(message_id: int) -> bool:
    return notify.attempt(message_id)
