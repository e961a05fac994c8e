package campaign

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// A campaign's audience is decided in shards: bounded pages of customers,
// each decided by one fan-out worker (a Lambda invocation fed by SQS), so
// no worker ever holds the whole audience. A shard that finds more behind
// its page queues the next page before it decides its own, so the pages of
// one source are read one after another but decided side by side.

// Where a shard's customers come from.
const (
	FromScan = "scan" // one segment of a parallel Scan of the ledger: everyone
	FromRank = "rank" // a rank, through the by-rank index
	FromTag  = "tag"  // a tag, through the tag index
)

// Stages of a campaign, each fanned out on its own: the early wave, a
// test's share, the test's winner to the rest, or everyone at once.
const (
	StageEarly  = "early"
	StageTest   = "test"
	StageWinner = "winner"
	StageMain   = "main"
)

// Shard is one page of one source of a campaign's audience: the job a
// fan-out worker takes off its queue.
type Shard struct {
	CampaignID string `json:"campaign" dynamodbav:"campaign_id"`
	Stage      string `json:"stage" dynamodbav:"stage"`
	Source     string `json:"source" dynamodbav:"source"`
	// Part names the rank or tag (FromRank, FromTag); Segment of Segments
	// the Scan's slice (FromScan).
	Part     string `json:"part,omitempty" dynamodbav:"part,omitempty"`
	Segment  int    `json:"segment,omitempty" dynamodbav:"segment,omitempty"`
	Segments int    `json:"segments,omitempty" dynamodbav:"segments,omitempty"`
	// Page counts the pages of the source before this one, and After is
	// the customer id this page starts after ("" for the first).
	Page  int    `json:"page" dynamodbav:"page"`
	After string `json:"after,omitempty" dynamodbav:"after,omitempty"`
	// Def is the fingerprint of the campaign's definition when its stage
	// started: a shard of an edited campaign stops instead of mixing two
	// versions in one send.
	Def string `json:"def" dynamodbav:"def"`
	// LINEAllowance is the stage's plan for a LINE quota too small for its
	// audience: how many of a rank's customers may hear by LINE (0: none;
	// a rank not named: all). Nil when the quota fits.
	LINEAllowance map[string]int `json:"line_allowance,omitempty" dynamodbav:"line_allowance,omitempty"`
}

// ID names a shard within its campaign; a redelivered shard has the same.
func (s Shard) ID() string {
	src := s.Source
	switch s.Source {
	case FromScan:
		src = fmt.Sprintf("scan-%03d-of-%03d", s.Segment, s.Segments)
	default:
		src = s.Source + "-" + s.Part
	}
	return fmt.Sprintf("%s/%s/p%05d", s.Stage, src, s.Page)
}

// Next is the page after this one, which starts after the customer id through.
func (s Shard) Next(through string) Shard {
	n := s
	n.Page, n.After = s.Page+1, through
	return n
}

// Validate refuses a shard job that cannot be ours (an unreadable queue message).
func (s Shard) Validate() error {
	switch {
	case s.CampaignID == "" || s.Stage == "" || s.Def == "":
		return fmt.Errorf("shard %q of campaign %q: no campaign, stage or definition", s.ID(), s.CampaignID)
	case s.Source == FromScan && (s.Segments < 1 || s.Segment < 0 || s.Segment >= s.Segments):
		return fmt.Errorf("shard %s of campaign %s: segment %d of %d", s.ID(), s.CampaignID, s.Segment, s.Segments)
	case (s.Source == FromRank || s.Source == FromTag) && s.Part == "":
		return fmt.Errorf("shard %s of campaign %s: no %s named", s.ID(), s.CampaignID, s.Source)
	case s.Source != FromScan && s.Source != FromRank && s.Source != FromTag:
		return fmt.Errorf("shard of campaign %s: unknown source %q", s.CampaignID, s.Source)
	}
	return nil
}

// ParseShard reads a shard job from its queue message.
func ParseShard(body string) (Shard, error) {
	var s Shard
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Shard{}, fmt.Errorf("shard job: %w", err)
	}
	return s, s.Validate()
}

// Fingerprint identifies a campaign's definition: it changes when the
// campaign is edited.
func (c *Campaign) Fingerprint() string {
	b, _ := json.Marshal(c) // a Campaign always encodes
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// ShardRecord is what the ledger keeps of a shard: whether it is done, and
// the page it read first, so a redelivery reads the same customers.
type ShardRecord struct {
	Shard
	Status ShardStatus `dynamodbav:"status"`
	// Through is the last customer id of the page as first read ("" until
	// a next page was found behind it).
	Through string `dynamodbav:"through,omitempty"`
	// NextQueued says the page after it went on the queue: a redelivery
	// does not queue it again.
	NextQueued bool `dynamodbav:"next_queued,omitempty"`
	Attempts   int  `dynamodbav:"attempts,omitempty"`
	// Granted is the LINE quota this shard set aside for its boundary rank
	// (-1: none asked yet).
	Granted   *int   `dynamodbav:"granted,omitempty"`
	LastError string `dynamodbav:"last_error,omitempty"`
}

// ShardStatus is where one shard is.
type ShardStatus string

// Shard statuses.
const (
	ShardQueued  ShardStatus = "queued"
	ShardDone    ShardStatus = "done"
	ShardStopped ShardStatus = "stopped" // the campaign was cancelled or edited
)

// Fan is a stage's progress across its shards, kept on the campaign.
type Fan struct {
	Total, Done int
	// Counts adds up the shards' reports: audience, email, line_push, …
	Counts map[string]int
	// Missing lists the shards not done (only when asked for).
	Missing []ShardRecord
}

// Finished says every shard of the stage is done.
func (f Fan) Finished() bool { return f.Total > 0 && f.Done >= f.Total }
