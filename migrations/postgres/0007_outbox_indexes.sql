-- The outbox at speed: recording a batch of results asks, per broadcast, whether anything is
-- still pending, and every claim counts the deliveries leased now and sent in the last second
-- (the shared rate budget). Without these partial indexes each of those scanned all of a
-- broadcast's deliveries (or all deliveries), which made a large broadcast quadratic.
CREATE INDEX deliveries_pending_broadcast ON deliveries (broadcast_id) WHERE state = 'pending';
CREATE INDEX deliveries_leased ON deliveries (lease_until) WHERE state = 'pending';
CREATE INDEX deliveries_recent ON deliveries (sent_at) WHERE state = 'sent';
