# Placeholder in a linear chain so that the parts of insight can each own one migration; filled by the
# part's own models (rollups → 0001, hot → 0002, safety → 0003).
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("demands", "0002_default_policies")]
    operations = []
