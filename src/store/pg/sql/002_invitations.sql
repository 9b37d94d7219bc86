-- 002_invitations.sql - invitations to teams (store.h, API.md 8): keyed
-- by team and lowercased e-mail, not by user, so that an invitation to an
-- address without an account is stored like any other. Pending while
-- expires_at is in the future; the expired ones of a team are purged when
-- its next invitation is written.

CREATE TABLE invitations (
	team_id		text COLLATE "C" NOT NULL REFERENCES teams ON DELETE CASCADE,
	email		text COLLATE "C" NOT NULL,		-- lowercase
	role		integer NOT NULL CHECK (role IN (1, 2)),
	invited_by	text NOT NULL,
	invited_at	bigint NOT NULL,
	expires_at	bigint NOT NULL,
	PRIMARY KEY (team_id, email)
);
CREATE INDEX invitations_by_email ON invitations (email, team_id);
