from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from massline.core import auth


class Command(BaseCommand):
    help = "为工作人员签发 API 令牌。Issue an API token for a user (printed once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli")

    def handle(self, *args, **o):
        user = get_user_model().objects.filter(username=o["username"]).first()
        if user is None:
            raise CommandError(f"用户 {o['username']} 不存在")
        self.stdout.write(auth.issue(user, o["name"]))
