"""Creates CarePulse's topics and exits: a Kubernetes Job before the services, or by hand.

Reads the same KAFKA_* settings as the services, including KAFKA_REPLICATION_FACTOR and
KAFKA_MIN_INSYNC_REPLICAS; topics that already exist are left as they are.
"""

import logging
import sys

from pydantic import ValidationError

from servicekit.kafka.topics import carepulse_topics, ensure_topics
from servicekit.logging import configure_logging
from servicekit.settings import KafkaSettings

log = logging.getLogger(__name__)


def main() -> int:
    configure_logging("create-topics")
    try:
        settings = KafkaSettings()
    except ValidationError as error:
        log.error("invalid settings", extra={"errors": error.errors(include_input=False)})
        return 2
    created = ensure_topics(
        settings.bootstrap_servers,
        carepulse_topics(),
        replication_factor=settings.replication_factor,
        min_insync_replicas=settings.min_insync_replicas,
    )
    log.info("topics ready", extra={"created_topics": created})
    return 0


if __name__ == "__main__":
    sys.exit(main())
