-- Connectors an operator disabled, per tenant: calls are refused until enabled again.
CREATE TABLE connector_disablements (
    tenant        TEXT NOT NULL,
    connector_key TEXT NOT NULL,
    reason        TEXT NOT NULL,
    disabled_by   TEXT NOT NULL,
    disabled_at   TEXT NOT NULL,
    PRIMARY KEY (tenant, connector_key)
);
