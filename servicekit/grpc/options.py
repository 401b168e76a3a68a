"""Channel arguments both sides agree on: message size limits and keepalive."""

MAX_MESSAGE_BYTES = 4 * 1024 * 1024

COMMON_OPTIONS: list[tuple[str, int]] = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    # Pings keep idle connections through proxies and detect dead peers within ~40 s.
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
]

# The server must tolerate the clients' ping rate, or it answers with GOAWAY.
SERVER_OPTIONS: list[tuple[str, int]] = [
    *COMMON_OPTIONS,
    ("grpc.http2.min_recv_ping_interval_without_data_ms", 10_000),
    # Connections are retired after 5 minutes, so clients resolve the name again and start
    # sending to pods added since (a scale-out); calls in flight, alert streams included
    # (they last up to an hour), finish on the old connection within the grace.
    ("grpc.max_connection_age_ms", 5 * 60_000),
    ("grpc.max_connection_age_grace_ms", 65 * 60_000),
]
