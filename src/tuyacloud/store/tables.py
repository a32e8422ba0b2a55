"""The schema, declared once with SQLAlchemy Core; Alembic migrations are generated from and checked against it.

Only portable types are used (text, integers) so the same raw SQL runs on SQLite and PostgreSQL: booleans are
0/1 integers, JSON documents are text, times are epoch milliseconds.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, Table, Text, text

metadata = MetaData()

# An auto-incrementing 64-bit key on PostgreSQL that is SQLite's rowid alias there (BIGINT would not be).
RowId = BigInteger().with_variant(Integer(), "sqlite")

meta = Table(
    "meta",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

projects = Table(
    "projects",
    metadata,
    Column("access_id", Text, primary_key=True),
    Column("access_secret", Text, nullable=False),
    Column("region", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("method", Text, nullable=False),
    Column("industry", Text, nullable=False, server_default=""),
    Column("uid", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Column("allowlist_enabled", Integer, nullable=False, server_default="0"),
    Column("allowlist", Text, nullable=False, server_default="[]"),
    Column("services", Text, nullable=False, server_default="[]"),
    Column("message_encryption", Text, nullable=False, server_default="aes_ecb"),
    Column("legacy_signing", Integer, nullable=False, server_default="0"),
)

tokens = Table(
    "tokens",
    metadata,
    Column("access_token", Text, primary_key=True),
    Column("refresh_token", Text, nullable=False, unique=True),
    Column("access_id", Text, nullable=False),
    Column("region", Text, nullable=False),
    Column("uid", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("expires_ms", BigInteger, nullable=False),
    Column("revoked_ms", BigInteger, nullable=True),
    Column("refresh_used", Integer, nullable=False, server_default="0"),
    Index("ix_tokens_expires", "expires_ms"),
)

devices = Table(
    "devices",
    metadata,
    Column("id", Text, primary_key=True),
    Column("access_id", Text, nullable=False),
    Column("region", Text, nullable=False),
    Column("product_id", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("local_key", Text, nullable=False),
    Column("uuid", Text, nullable=False),
    Column("ip", Text, nullable=False, server_default=""),
    Column("time_zone", Text, nullable=False, server_default="+00:00"),
    Column("lat", Text, nullable=False, server_default=""),
    Column("lon", Text, nullable=False, server_default=""),
    Column("online", Integer, nullable=False, server_default="1"),
    Column("owner_uid", Text, nullable=False, server_default=""),
    Column("asset_id", Text, nullable=False, server_default=""),
    Column("created_ms", BigInteger, nullable=False),
    Column("active_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Column("status", Text, nullable=False, server_default="{}"),
    Column("status_t", Text, nullable=False, server_default="{}"),
    Column("custom_name", Text, nullable=False, server_default=""),
    Column("sn", Text, nullable=False, server_default=""),
    Column("mac", Text, nullable=False, server_default=""),
    Column("virtual", Integer, nullable=False, server_default="1"),
    Column("gateway_id", Text, nullable=False, server_default=""),  # migration 0013: gateways and sub-devices
    Column("node_id", Text, nullable=False, server_default=""),
    Column("frozen", Integer, nullable=False, server_default="0"),
    Column("gateway_held", Integer, nullable=False, server_default="0"),
    Index("ix_devices_project", "access_id", "region", "id"),
    Index("ix_devices_gateway", "gateway_id", "region"),
)

# A gateway searching for sub-devices (``POST .../actions/discover``) until ``until_ms`` (migration 0013).
gateway_discovery = Table(
    "gateway_discovery",
    metadata,
    Column("gateway_id", Text, primary_key=True),
    Column("region", Text, nullable=False),
    Column("started_ms", BigInteger, nullable=False),
    Column("until_ms", BigInteger, nullable=False),
)

device_logs = Table(
    "device_logs",
    metadata,
    Column("row_id", RowId, primary_key=True, autoincrement=True),
    Column("device_id", Text, nullable=False),
    Column("event_time", BigInteger, nullable=False),
    Column("event_id", Integer, nullable=False),
    Column("code", Text, nullable=False),
    Column("value", Text, nullable=False),
    Column("event_from", Text, nullable=False),
    Index("ix_device_logs_device_time", "device_id", "event_time"),
    # online (1) and offline (2) rows only: the console's online devices per day (migration 0009)
    Index("ix_device_logs_online", "device_id", "event_time", sqlite_where=text("event_id IN (1, 2)"),
          postgresql_where=text("event_id IN (1, 2)")),
)

messages = Table(
    "messages",
    metadata,
    Column("seq", RowId, primary_key=True, autoincrement=True),
    Column("access_id", Text, nullable=False),
    Column("region", Text, nullable=False),
    Column("protocol", Integer, nullable=False),
    Column("device_id", Text, nullable=False),
    Column("data", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Index("ix_messages_project_seq", "access_id", "seq"),
)

usage = Table(
    "usage",
    metadata,
    Column("access_id", Text, primary_key=True),
    Column("day", Text, primary_key=True),  # YYYYMMDD (UTC)
    Column("api", Text, primary_key=True),  # "GET /v1.0/devices/{device_id}"
    Column("calls", BigInteger, nullable=False, server_default="0"),
    Column("failures", BigInteger, nullable=False, server_default="0"),
)

# --- message service -------------------------------------------------------------------------------
# A subscription's position: every message of the project with seq <= mark_seq is acknowledged; acknowledged
# messages above the mark are listed in subscription_acks until the mark passes them.
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("access_id", Text, primary_key=True),
    Column("env", Text, primary_key=True),  # "event" | "event-test"
    Column("name", Text, primary_key=True),
    Column("mark_seq", BigInteger, nullable=False, server_default="0"),
    Column("last_ack_ms", BigInteger, nullable=True),
    # Failover: the consumer holding the lease is the active one, in whichever server process it is connected.
    Column("owner", Text, nullable=True),
    Column("lease_until_ms", BigInteger, nullable=False, server_default="0"),
)

subscription_acks = Table(
    "subscription_acks",
    metadata,
    Column("access_id", Text, primary_key=True),
    Column("env", Text, primary_key=True),
    Column("name", Text, primary_key=True),
    Column("seq", BigInteger, primary_key=True),
)

consumers = Table(
    "consumers",
    metadata,
    Column("id", Text, primary_key=True),
    Column("access_id", Text, nullable=False),
    Column("env", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("address", Text, nullable=False, server_default=""),
    Column("connected_ms", BigInteger, nullable=False),
    Column("last_seen_ms", BigInteger, nullable=False),
    Index("ix_consumers_subscription", "access_id", "env", "name"),
)

# --- custom projects: asset tree, project users, authorisations --------------------------------------
assets = Table(
    "assets",
    metadata,
    Column("id", Text, primary_key=True),
    Column("access_id", Text, nullable=False),
    Column("region", Text, nullable=False),
    Column("parent_id", Text, nullable=False),  # "-1" for a top asset
    Column("name", Text, nullable=False),
    Column("asset_type", Text, nullable=False, server_default=""),
    Column("image", Text, nullable=False, server_default=""),
    Column("level", Integer, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("is_root", Integer, nullable=False, server_default="0"),
    Index("ix_assets_parent", "access_id", "region", "parent_id", "id"),
)

project_users = Table(
    "project_users",
    metadata,
    Column("id", Text, primary_key=True),
    Column("access_id", Text, nullable=False),
    Column("region", Text, nullable=False),
    Column("username", Text, nullable=False),
    Column("country_code", Text, nullable=False, server_default=""),
    Column("nick_name", Text, nullable=False, server_default=""),
    Column("password_hash", Text, nullable=False),
    Column("creator", Text, nullable=False, server_default=""),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Index("ux_project_users_name", "access_id", "region", "username", unique=True),
)

asset_grants = Table(
    "asset_grants",
    metadata,
    Column("access_id", Text, primary_key=True),
    Column("region", Text, primary_key=True),
    Column("uid", Text, primary_key=True),
    Column("asset_id", Text, primary_key=True),
    Column("with_children", Integer, nullable=False, server_default="0"),
    Column("created_ms", BigInteger, nullable=False),
    Index("ix_asset_grants_asset", "access_id", "region", "asset_id", "uid"),
)

# --- device registration (pairing) tokens --------------------------------------------------------------
registration_tokens = Table(
    "registration_tokens",
    metadata,
    Column("token", Text, primary_key=True),
    Column("access_id", Text, nullable=False),
    Column("region", Text, nullable=False),
    Column("asset_id", Text, nullable=False),
    Column("secret", Text, nullable=False),
    Column("time_zone", Text, nullable=False),  # the time_zone_id given at creation, e.g. "Europe/Berlin"
    Column("created_ms", BigInteger, nullable=False),
    Column("expires_ms", BigInteger, nullable=False),
    Index("ix_registration_tokens_project", "access_id", "region", "created_ms"),
)

registration_devices = Table(
    "registration_devices",
    metadata,
    Column("token", Text, primary_key=True),
    Column("device_id", Text, primary_key=True),
)

# --- smart home: apps, their links to projects, app users, homes, rooms, members, pairing tokens ---------------
apps = Table(
    "apps",
    metadata,
    Column("schema", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("region", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
)

app_links = Table(
    "app_links",
    metadata,
    Column("schema", Text, primary_key=True),
    Column("access_id", Text, primary_key=True),
    Column("created_ms", BigInteger, nullable=False),
    Index("ix_app_links_project", "access_id", "schema"),
)

app_users = Table(
    "app_users",
    metadata,
    Column("id", Text, primary_key=True),
    Column("schema", Text, nullable=False),
    Column("region", Text, nullable=False),
    Column("username", Text, nullable=False),
    Column("username_type", Integer, nullable=False),
    Column("country_code", Text, nullable=False),
    Column("nick_name", Text, nullable=False),
    Column("time_zone_id", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Index("ux_app_users_name", "schema", "username", unique=True),
)

homes = Table(
    "homes",
    metadata,
    Column("id", Text, primary_key=True),
    Column("schema", Text, nullable=False),
    Column("region", Text, nullable=False),
    Column("owner_uid", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("geo_name", Text, nullable=False),
    Column("lon", Text, nullable=False),
    Column("lat", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
)

home_members = Table(
    "home_members",
    metadata,
    Column("home_id", Text, primary_key=True),
    Column("uid", Text, primary_key=True),
    Column("role", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Index("ix_home_members_uid", "uid", "home_id"),
)

rooms = Table(
    "rooms",
    metadata,
    Column("id", Text, primary_key=True),
    Column("home_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Index("ix_rooms_home", "home_id", "id"),
)

room_devices = Table(
    "room_devices",
    metadata,
    Column("device_id", Text, primary_key=True),
    Column("room_id", Text, nullable=False),
    Index("ix_room_devices_room", "room_id", "device_id"),
)

pairing_tokens = Table(
    "pairing_tokens",
    metadata,
    Column("token", Text, primary_key=True),
    Column("access_id", Text, nullable=False),
    Column("region", Text, nullable=False),
    Column("uid", Text, nullable=False),
    Column("secret", Text, nullable=False),
    Column("time_zone", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("expires_ms", BigInteger, nullable=False),
)

pairing_devices = Table(
    "pairing_devices",
    metadata,
    Column("token", Text, primary_key=True),
    Column("device_id", Text, primary_key=True),
)

# --- console ---
# People who log in to the web console (not project users or app users): scrypt hashes with their parameters.
console_accounts = Table(
    "console_accounts",
    metadata,
    Column("username", Text, primary_key=True),
    Column("password_hash", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)

# Server-side sessions: the cookie carries a random token, the row only its SHA-256, so a leaked table logs no one in.
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("token_hash", Text, primary_key=True),
    Column("username", Text, nullable=False),
    Column("csrf_token", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("expires_ms", BigInteger, nullable=False),
    Index("ix_console_sessions_user", "username"),
)

# Failed logins per key ("user:<name>" or "addr:<ip>"), for the lock-out.
console_login_failures = Table(
    "console_login_failures",
    metadata,
    Column("key", Text, primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("first_ms", BigInteger, nullable=False),
    Column("locked_until_ms", BigInteger, nullable=False),
)

# --- scenes and automations ---
# Tap-to-run scenes and automations (device linkage) of smart-home homes; actions, conditions and preconditions are
# validated JSON documents. ``automation_devices`` indexes the devices an automation's conditions read, so a status
# change finds the automations it may fire without scanning them all.
scenes = Table(
    "scenes",
    metadata,
    Column("id", Text, primary_key=True),
    Column("home_id", Text, nullable=False),
    Column("region", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("background", Text, nullable=False),
    Column("enabled", Integer, nullable=False),
    Column("actions", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Index("ix_scenes_home", "home_id", "created_ms"),
)

automations = Table(
    "automations",
    metadata,
    Column("id", Text, primary_key=True),
    Column("home_id", Text, nullable=False),
    Column("region", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("background", Text, nullable=False),
    Column("enabled", Integer, nullable=False),
    Column("match_type", Integer, nullable=False),
    Column("condition_rule", Text, nullable=False),
    Column("conditions", Text, nullable=False),
    Column("preconditions", Text, nullable=False),
    Column("actions", Text, nullable=False),
    Column("has_schedule", Integer, nullable=False),
    Column("last_fired_minute", BigInteger, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Index("ix_automations_home", "home_id", "created_ms"),
    Index("ix_automations_schedule", "has_schedule", "enabled"),
)

automation_devices = Table(
    "automation_devices",
    metadata,
    Column("automation_id", Text, primary_key=True),
    Column("device_id", Text, primary_key=True),
    Index("ix_automation_devices_device", "device_id", "automation_id"),
)

# --- timers ---
# Scheduled tasks of devices; the v1.0 timer groups and the v2.0 timers share these rows. ``next_run_ms`` is the next
# instant the cloud runs a timer (NULL when disabled or done): the scheduler reads the earliest due rows through its
# index and claims each run with a conditional UPDATE of it, so one run happens once across server processes.
timers = Table(
    "timers",
    metadata,
    Column("seq", RowId, primary_key=True, autoincrement=True),  # creation order, also within one millisecond
    Column("id", Text, nullable=False, unique=True),
    Column("device_id", Text, nullable=False),
    Column("region", Text, nullable=False),
    Column("group_id", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("group_order", Integer, nullable=False),
    Column("alias_name", Text, nullable=False),
    Column("run_time", Text, nullable=False),
    Column("run_date", Text, nullable=False),
    Column("loops", Text, nullable=False),
    Column("timezone_id", Text, nullable=False),
    Column("time_zone", Text, nullable=False),
    Column("functions", Text, nullable=False),
    Column("enabled", Integer, nullable=False),
    Column("is_app_push", Integer, nullable=False),
    Column("next_run_ms", BigInteger, nullable=True),
    Column("last_run_ms", BigInteger, nullable=True),
    Column("last_result", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Index("ix_timers_device", "device_id", "group_id"),
    Index("ix_timers_next_run", "next_run_ms"),
)

# --- actions of scene and automation runs still to run ---
# A run's actions that have not run yet, each due at the run's start plus the delays before it (cloud ms). Written
# when the run starts, deleted in the unit of work that performs the action, so a restart or a dead process loses
# none and none runs twice; the runner reads the earliest due rows through ``ix_pending_actions_due``.
pending_actions = Table(
    "pending_actions",
    metadata,
    Column("run_id", Text, primary_key=True),
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("due_ms", BigInteger, nullable=False),
    Column("home_id", Text, nullable=False),
    Column("region", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("rule_id", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("started_ms", BigInteger, nullable=False),
    Column("chain", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("owner", Text, nullable=False),
    Index("ix_pending_actions_due", "due_ms"),
)

# --- the simulator's leases ---
# Virtual devices are split into shards (a hash of the device id); the server process holding a shard's lease is the
# only one that drives its devices (simulated time would otherwise run once per process). A lease names its owner
# and expires (wall-clock ms) unless renewed, so a process that dies hands its shards over. A process that changes a
# device of a shard it does not hold leaves a poke, which the holder reads and acts on.
sim_leases = Table(
    "sim_leases",
    metadata,
    Column("shard", Integer, primary_key=True, autoincrement=False),
    Column("owner", Text, nullable=False),
    Column("expires_ms", BigInteger, nullable=False),
)

sim_pokes = Table(
    "sim_pokes",
    metadata,
    Column("device_id", Text, primary_key=True),
    Column("region", Text, primary_key=True),
    Column("at_ms", BigInteger, nullable=False),
)

# --- leases of named background tasks ---
# Work that must run in one server process of several on one database (message retention, the token and open-hub
# credential sweeps): the process holding the task's lease runs it; the lease expires (wall-clock ms) unless its
# owner renews it, so another process takes the task over when the holder dies.
task_leases = Table(
    "task_leases",
    metadata,
    Column("name", Text, primary_key=True),
    Column("owner", Text, nullable=False),
    Column("expires_ms", BigInteger, nullable=False),
)

# --- MQTT open-hub: one row per issued credential of a link --------------------------------------------------
mqtt_credentials = Table(
    "mqtt_credentials",
    metadata,
    Column("username", Text, primary_key=True),
    Column("access_id", Text, nullable=False),
    Column("region", Text, nullable=False),
    Column("link_id", Text, nullable=False),
    Column("client_id", Text, nullable=False),
    Column("uid", Text, nullable=False),
    Column("token_kind", Text, nullable=False),
    Column("password_hash", Text, nullable=False),  # sha256 hex of the password
    Column("message_key", Text, nullable=False),  # password[8:24]: encrypts the link's messages
    Column("topic", Text, nullable=False),
    Column("version", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("expires_ms", BigInteger, nullable=False),
    Column("revoked_ms", BigInteger, nullable=True),
    Column("start_seq", BigInteger, nullable=False, server_default="0"),
    Column("delivered_seq", BigInteger, nullable=False, server_default="0"),
    # What `messages status` shows: the connection (in which server process), the last message sent to it.
    Column("connected_ms", BigInteger, nullable=True),
    Column("last_seen_ms", BigInteger, nullable=True),
    Column("last_message_ms", BigInteger, nullable=True),
    Column("messages", BigInteger, nullable=False, server_default="0"),
    Column("node", Text, nullable=True),
    Index("ix_mqtt_credentials_project", "access_id", "uid"),
    Index("ix_mqtt_credentials_expires", "expires_ms"),
)

# --- device sharing (Home Assistant's Tuya integration): user codes and QR logins awaiting approval ----------
sharing_user_codes = Table(
    "sharing_user_codes",
    metadata,
    Column("code", Text, primary_key=True),
    Column("uid", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Index("ux_sharing_user_codes_uid", "uid", unique=True),
)

sharing_logins = Table(
    "sharing_logins",
    metadata,
    Column("qrcode", Text, primary_key=True),
    Column("user_code", Text, nullable=False),
    Column("uid", Text, nullable=False),
    Column("client_id", Text, nullable=False),
    Column("schema", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("expires_ms", BigInteger, nullable=False),
    Index("ix_sharing_logins_state", "state", "expires_ms"),
)

# --- quotas (opt-in trial limits): a project's own settings, and its counted calls and messages per month ----
quota_settings = Table(
    "quota_settings",
    metadata,
    Column("access_id", Text, primary_key=True),
    Column("plan", Text, nullable=True),
    Column("monthly_calls", BigInteger, nullable=True),
    Column("monthly_messages", BigInteger, nullable=True),
    Column("devices", BigInteger, nullable=True),
    Column("month_offset", Integer, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)

quota_usage = Table(
    "quota_usage",
    metadata,
    Column("access_id", Text, primary_key=True),
    Column("period", Text, primary_key=True),  # the quota month, YYYYMM
    Column("calls", BigInteger, nullable=False),
    Column("messages", BigInteger, nullable=False),
)

# --- infrared: the remotes bound to IR blasters (qt devices); camera live-stream URLs --------------------------
infrared_remotes = Table(
    "infrared_remotes",
    metadata,
    Column("remote_id", Text, primary_key=True),
    Column("infrared_id", Text, nullable=False),
    Column("access_id", Text, nullable=False),
    Column("region", Text, nullable=False),
    Column("category_id", Integer, nullable=False),
    Column("remote_name", Text, nullable=False),
    Column("brand_id", Integer, nullable=False),
    Column("brand_name", Text, nullable=False),
    Column("remote_index", Integer, nullable=False),
    Column("state", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Index("ix_infrared_remotes_blaster", "infrared_id", "region"),
)

camera_streams = Table(
    "camera_streams",
    metadata,
    Column("token", Text, primary_key=True),
    Column("device_id", Text, nullable=False),
    Column("access_id", Text, nullable=False),
    Column("region", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("opened_ms", BigInteger, nullable=False),
    Column("expires_ms", BigInteger, nullable=False),
    Index("ix_camera_streams_expires", "expires_ms"),
)
