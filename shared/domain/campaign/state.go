package campaign

import (
	"errors"
	"fmt"
	"time"

	"github.com/daifuku/daifuku/shared/domain/message"
)

// Status is where a campaign's fan-out is.
type Status string

// Campaign statuses.
const (
	Scheduled Status = "scheduled"
	Sending   Status = "sending"
	// EarlySent: the early wave went out; everyone else waits for send_at.
	EarlySent Status = "early-sent"
	// Testing: the test share got the variants; everyone else waits for
	// the winner, decided once the test has run its time.
	Testing Status = "testing"
	// Delivering: every member is decided and every job queued or
	// multicast; the campaign is sent once the sender settled them all.
	Delivering Status = "delivering"
	Sent       Status = "sent"
	// Cancelled: stopped for good by a person: nothing more is decided,
	// and the senders skip its newsletters still queued.
	Cancelled Status = "cancelled"
	// Stopped: edited while it was sending; the shards left stopped rather
	// than send two versions, until a person resumes it.
	Stopped Status = "stopped"
	// Handed: a batch LINE refused whole (its monthly quota used up); its
	// members went to the sender one by one, which sends them around the
	// pause (by email where they agreed to it) or defers them.
	Handed Status = "handed"
	// Unconfirmed: a batch LINE may have taken, whose retry key it no
	// longer keeps (24 hours): its members are not sent again.
	Unconfirmed Status = "unconfirmed"
)

// ErrBusy means another run is sending the campaign (or it was sent).
var ErrBusy = errors.New("campaign is being sent by another run")

// BusyError says who holds a campaign, and until when (a BusyError Is ErrBusy).
type BusyError struct {
	ID     string
	Status Status
	Holder string
	Until  time.Time
}

func (e *BusyError) Error() string {
	if e.Status == Testing && !e.Until.IsZero() {
		return fmt.Sprintf("campaign %s is testing its variants; the winner goes from %s", e.ID, e.Until.Format(time.RFC3339))
	}
	if e.Status != Sending {
		return fmt.Sprintf("campaign %s is %s", e.ID, e.Status)
	}
	return fmt.Sprintf("campaign %s is being sent by %s until %s", e.ID, e.Holder, e.Until.Format(time.RFC3339))
}

// Is makes errors.Is(err, ErrBusy) true.
func (e *BusyError) Is(target error) bool { return target == ErrBusy }

// WinnerDue is when a test campaign's winner may be chosen (zero before
// the test share was sent).
func (st *State) WinnerDue(c *Campaign) time.Time {
	if c.Test == nil || st.TestSentAt.IsZero() {
		return time.Time{}
	}
	return st.TestSentAt.Add(c.Test.After)
}

// State is a campaign's progress, kept in the ledger.
type State struct {
	Status     Status         `dynamodbav:"status,omitempty"`
	StartedAt  time.Time      `dynamodbav:"started_at,omitempty"`
	FinishedAt time.Time      `dynamodbav:"finished_at,omitempty"`
	Counts     map[string]int `dynamodbav:"counts,omitempty"`
	// LeaseHolder and LeaseUntil say which run holds a sending campaign.
	LeaseHolder string    `dynamodbav:"lease_holder,omitempty"`
	LeaseUntil  time.Time `dynamodbav:"lease_until,omitempty"`
	// FinalCounts are the messages by status and channel once all settled.
	FinalCounts map[string]int `dynamodbav:"final_counts,omitempty"`
	// EarlyCounts are the early wave's.
	EarlyCounts map[string]int `dynamodbav:"early_counts,omitempty"`
	// TestSentAt is when the test share's fan-out finished: the winner is
	// chosen Test.After later. TestCounts are the test wave's counts.
	TestSentAt time.Time      `dynamodbav:"test_sent_at,omitempty"`
	TestCounts map[string]int `dynamodbav:"test_counts,omitempty"`
	// Winner is the test's decision, made once and kept.
	Winner *Winner `dynamodbav:"winner,omitempty"`
	// LastError is the first line of the error that ended the last failed
	// run, and FailedRuns how many runs failed: the next run takes over.
	LastError  string `dynamodbav:"last_error,omitempty"`
	FailedRuns int    `dynamodbav:"failed_runs,omitempty"`
	// Stage is the stage being fanned out (StageEarly, …), and Fan its
	// shards' progress.
	Stage string `dynamodbav:"stage,omitempty"`
	Fan   Fan    `dynamodbav:"-"`
}

// Member is one recipient of a LINE multicast batch.
type Member struct {
	CustomerID string      `dynamodbav:"customer_id"`
	Key        message.Key `dynamodbav:"key"`
	LINEUserID string      `dynamodbav:"line_user_id"`
}

// Batch is one LINE multicast request: up to 500 friends, one content.
type Batch struct {
	CampaignID string   `dynamodbav:"campaign_id"`
	Item       string   `dynamodbav:"item"`
	Seq        int      `dynamodbav:"seq"`
	Template   string   `dynamodbav:"template"`
	Text       string   `dynamodbav:"text,omitempty"` // the rendered LINE message, sent as is:
	Flex       []byte   `dynamodbav:"flex,omitempty"` // text, or a Flex message object
	Members    []Member `dynamodbav:"members"`
	Status     Status   `dynamodbav:"status"` // sending until LINE took it, then sent
	// Attempts counts the runs LINE failed to answer for this batch.
	Attempts int `dynamodbav:"attempts,omitempty"`
	// Content is the content revision its message was rendered from.
	Content  int    `dynamodbav:"content_revision,omitempty"`
	Versions string `dynamodbav:"template_version,omitempty"`
	// Shard is the shard that made the batch ("" before campaigns were
	// sharded); AttemptedAt when it was first sent to LINE, which keeps
	// its retry key for 24 hours only.
	Shard       string    `dynamodbav:"shard,omitempty"`
	AttemptedAt time.Time `dynamodbav:"attempted_at,omitempty"`
}

// Tally is a campaign's messages by status and channel.
type Tally struct {
	Messages map[message.Status]map[string]int
	// Rechecking counts the ambiguous emails still to be looked at again:
	// SendGrid's events, or a resend, will yet settle them.
	Rechecking int
}
