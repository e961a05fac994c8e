// Package customer holds the ledger's central record: a customer (or prospect),
// how to reach them, what they agreed to, and what they bought.
package customer

import (
	"fmt"
	"sync"
	"time"
	_ "time/tzdata" // provided.al2023 images may lack /usr/share/zoneinfo
)

// DefaultTimezone is where a customer lives unless we know better.
const DefaultTimezone = "Asia/Tokyo"

// Channel is a way we can reach a customer.
type Channel string

// The channels daifuku sends through.
const (
	LINE  Channel = "line"
	Email Channel = "email"
)

// ContactStatus is what the provider or the customer told us about a contact point.
type ContactStatus string

// Contact statuses. Anything other than Reachable stops sending on that channel.
const (
	Reachable    ContactStatus = ""
	Blocked      ContactStatus = "blocked"      // LINE: the customer blocked the shop's account
	Unsubscribed ContactStatus = "unsubscribed" // email: the customer opted out
	Bounced      ContactStatus = "bounced"      // email: the address does not accept mail
	Complained   ContactStatus = "spamreport"   // email: the customer marked us as spam
)

// Gender is what the customer told the shop, if anything.
type Gender string

// Genders; "" is unknown or not said.
const (
	Female Gender = "female"
	Male   Gender = "male"
	Other  Gender = "other"
)

// ParseGender reads a gender as shops write it in spreadsheets.
func ParseGender(s string) (Gender, error) {
	switch s {
	case "":
		return "", nil
	case "female", "f", "F", "女性", "女":
		return Female, nil
	case "male", "m", "M", "男性", "男":
		return Male, nil
	case "other", "その他":
		return Other, nil
	}
	return "", fmt.Errorf("gender %q: want female, male, other or empty", s)
}

// Consent records, per channel, whether the customer agreed to hear from us
// and whether the contact point still works.
type Consent struct {
	Email       bool          `dynamodbav:"email"`
	LINE        bool          `dynamodbav:"line"`
	EmailStatus ContactStatus `dynamodbav:"email_status,omitempty"`
	LINEStatus  ContactStatus `dynamodbav:"line_status,omitempty"`
}

// Purchases are the aggregates the rank rules read (RFM).
type Purchases struct {
	TotalSpend int64     `dynamodbav:"total_spend"` // yen, tax included
	Count      int       `dynamodbav:"count"`
	First      time.Time `dynamodbav:"first,omitempty"`
	Last       time.Time `dynamodbav:"last,omitempty"`
}

// RankChange is one step in a customer's rank history.
type RankChange struct {
	From string    `dynamodbav:"from"`
	To   string    `dynamodbav:"to"`
	At   time.Time `dynamodbav:"at"`
	// Cause names what moved the customer, e.g. "order O-1001" or "lapse".
	Cause string `dynamodbav:"cause,omitempty"`
}

// ConsentChange is one change to how a customer may be reached: consent
// given or withdrawn on a channel or for a topic, a bounce, a block, a
// return. Japan's anti-spam law (特定電子メール法) asks that the record of
// consent be kept: each change is an item of its own (see docs/consent.md).
type ConsentChange struct {
	Channel Channel       `dynamodbav:"channel,omitempty" json:"channel,omitempty"` // "": every channel (a topic)
	Status  ContactStatus `dynamodbav:"status,omitempty" json:"status"`             // "" : reachable again
	Consent bool          `dynamodbav:"consent" json:"consent"`                     // consent after the change
	At      time.Time     `dynamodbav:"at" json:"at"`
	// How is how the change came about, from a fixed vocabulary.
	How How `dynamodbav:"how,omitempty" json:"how,omitempty"`
	// Topic is the topic (配信設定) the change is about; "": the channel itself.
	Topic string `dynamodbav:"topic,omitempty" json:"topic,omitempty"`
	// Cause says more, never personal data: e.g. "sendgrid bounce", or the
	// reason staff gave.
	Cause string `dynamodbav:"cause" json:"cause"`
}

// How is how a consent change came about: a fixed vocabulary, so records
// can be counted and exported, not free text.
type How string

// The ways consent changes.
const (
	ByOrderForm       How = "order_form"       // the checkout's consent boxes
	ByCSVImport       How = "csv_import"       // a spreadsheet import
	ByLINEFollow      How = "line_follow"      // added the shop's LINE account
	ByLINEUnfollow    How = "line_unfollow"    // blocked the shop's LINE account
	ByLINEMenu        How = "line_menu"        // the 配信設定 menu on LINE
	ByUnsubscribeLink How = "unsubscribe_link" // an email's one-click unsubscribe
	ByPreferencePage  How = "preference_page"  // the signed 配信設定 page
	BySendGridEvent   How = "sendgrid_event"   // unsubscribe, group unsubscribe, bounce, spam report
	ByReply           How = "reply"            // the customer wrote to ask (e.g. for fewer messages)
	ByStaff           How = "staff"            // `daifuku consent`, with a reason
)

// Hows lists the vocabulary.
var Hows = []How{ByOrderForm, ByCSVImport, ByLINEFollow, ByLINEUnfollow, ByLINEMenu, ByUnsubscribeLink, ByPreferencePage,
	BySendGridEvent, ByReply, ByStaff}

// Valid reports whether h is in the vocabulary.
func (h How) Valid() bool {
	for _, k := range Hows {
		if h == k {
			return true
		}
	}
	return false
}

// NoteConsent records a change to a channel's consent or status, as it now
// stands on the customer, with how it came about. The change is written as
// a consent record of its own with the customer's next save, in the same
// transaction.
func (c *Customer) NoteConsent(ch Channel, at time.Time, how How, cause string) {
	status, consent := c.Consent.LINEStatus, c.Consent.LINE
	if ch == Email {
		status, consent = c.Consent.EmailStatus, c.Consent.Email
	}
	c.PendingConsent = append(c.PendingConsent, ConsentChange{Channel: ch, Status: status, Consent: consent, At: at, How: how, Cause: cause})
}

// topicKey is the Preferences key of a topic a customer stopped.
func topicKey(topic string) string { return "topic:" + topic }

// stopped is the Preferences value of a stopped topic.
const stopped = "off"

// Stopped reports whether the customer asked to hear no more about a topic.
func (c *Customer) Stopped(topic string) bool { return c.Preferences[topicKey(topic)] == stopped }

// SetTopic starts or stops a topic for the customer on every channel,
// noting the consent change; it reports whether anything changed (a
// repeated request changes nothing and notes nothing).
func (c *Customer) SetTopic(topic string, on bool, at time.Time, how How, cause string) bool {
	if c.Stopped(topic) == !on {
		return false
	}
	if on {
		delete(c.Preferences, topicKey(topic))
	} else {
		if c.Preferences == nil {
			c.Preferences = map[string]string{}
		}
		c.Preferences[topicKey(topic)] = stopped
	}
	c.PendingConsent = append(c.PendingConsent, ConsentChange{Topic: topic, Consent: on, At: at, How: how, Cause: cause})
	return true
}

// Customer is one row of the ledger.
type Customer struct {
	ID               string    `dynamodbav:"customer_id"`
	Name             string    `dynamodbav:"name,omitempty"`
	Email            string    `dynamodbav:"email,omitempty"`
	LINEUserID       string    `dynamodbav:"line_user_id,omitempty"`
	Phone            string    `dynamodbav:"phone,omitempty"`
	Gender           Gender    `dynamodbav:"gender,omitempty"` // only ever shown as part of an anonymous profile
	PreferredChannel Channel   `dynamodbav:"preferred_channel,omitempty"`
	Consent          Consent   `dynamodbav:"consent"`
	Birthday         string    `dynamodbav:"birthday,omitempty"`    // YYYY-MM-DD or --MM-DD when the year is unknown
	BirthdayMD       string    `dynamodbav:"birthday_md,omitempty"` // MM-DD, the birthday index key
	Timezone         string    `dynamodbav:"timezone,omitempty"`    // IANA name; empty means DefaultTimezone
	SignedUpAt       time.Time `dynamodbav:"signed_up_at"`
	FriendAddedAt    time.Time `dynamodbav:"friend_added_at,omitempty"` // when they added the shop's LINE account
	// LINEStatusAt is the time of the follow or unfollow event that last set
	// Consent.LINEStatus: events arrive out of order, and an older one must
	// not undo a newer one.
	LINEStatusAt time.Time    `dynamodbav:"line_status_at,omitempty"`
	Purchases    Purchases    `dynamodbav:"purchases"`
	Rank         string       `dynamodbav:"rank"` // e.g. "repeater" or "repeater:lapsed"
	RankSince    time.Time    `dynamodbav:"rank_since"`
	RankHistory  []RankChange `dynamodbav:"rank_history,omitempty"`
	// ConsentHistory holds the changes noted before consent records were
	// items of their own (capped at 50 then); new changes go to PendingConsent.
	ConsentHistory []ConsentChange `dynamodbav:"consent_history,omitempty"`
	// PendingConsent are the consent changes noted since the customer was
	// read: the store writes each as a consent record in the same
	// transaction as the customer, then clears them. Never stored here.
	PendingConsent []ConsentChange `dynamodbav:"-" json:"-"`
	Tags           []string        `dynamodbav:"tags,omitempty,stringset"`
	// Preferences: "frequency" (see Fewer) and "topic:<id>" = "off" for
	// each topic the customer stopped (see Stopped).
	Preferences map[string]string `dynamodbav:"preferences,omitempty"`
	// LastSurpriseAt is when they last got a surprise gift (never twice within the configured period).
	LastSurpriseAt time.Time `dynamodbav:"last_surprise_at,omitempty"`
	// NextDue is the customer-local date (YYYY-MM-DD) the daily run next has
	// something for them: a plan step or the day they would lapse. The daily
	// run reads customers through an index on it, never the whole ledger.
	NextDue string `dynamodbav:"next_due,omitempty"`
	// Points is the customer's points card: balance and lots.
	Points Points `dynamodbav:"points"`
	// CapSends records the messages that count against the frequency cap,
	// by message key, for the cap's window: written with each such message
	// as it is decided, never by a save of the customer, so deciding reads
	// it with the customer instead of querying their messages. Nil on a
	// customer stored before it was kept (see delivery.RecentSends).
	CapSends map[string]CapSend `dynamodbav:"cap_sends,omitempty"`
	// ReferralCode is the customer's own code for introducing others (口コミ),
	// drawn once; ReferralCount is how many introductions were credited to them.
	ReferralCode  string `dynamodbav:"referral_code,omitempty"`
	ReferralCount int    `dynamodbav:"referral_count,omitempty"`
	// Version guards read-modify-write updates (optimistic locking).
	Version int64 `dynamodbav:"version"`
}

// CapSend is a message counted against the frequency cap: when it was
// decided, and its kind (a message.Kind).
type CapSend struct {
	At   time.Time `dynamodbav:"at"`
	Kind string    `dynamodbav:"kind"`
}

// Location returns the customer's time zone, falling back to DefaultTimezone.
func (c *Customer) Location() *time.Location {
	name := c.Timezone
	if name == "" {
		name = DefaultTimezone
	}
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		// An unknown zone in the ledger must not stop a send: use the default.
		if name == DefaultTimezone {
			return time.UTC // unreachable: tzdata is embedded
		}
		return DefaultLocation()
	}
	locations.Store(name, loc)
	return loc
}

// DefaultLocation is DefaultTimezone as a location.
func DefaultLocation() *time.Location { return (&Customer{}).Location() }

// locations caches parsed zones: loading one reads and parses tzdata.
var locations sync.Map

// SetBirthday stores a birthday given as YYYY-MM-DD (or MM-DD) and its index key.
func (c *Customer) SetBirthday(s string) error {
	switch {
	case s == "":
		c.Birthday, c.BirthdayMD = "", ""
		return nil
	case len(s) == 10:
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			return fmt.Errorf("birthday %q: want YYYY-MM-DD", s)
		}
		c.Birthday, c.BirthdayMD = s, s[5:]
		return nil
	case len(s) == 5:
		if _, err := time.Parse("01-02", s); err != nil && s != "02-29" {
			return fmt.Errorf("birthday %q: want MM-DD", s)
		}
		c.Birthday, c.BirthdayMD = "--"+s, s
		return nil
	}
	return fmt.Errorf("birthday %q: want YYYY-MM-DD or MM-DD", s)
}

// Fewer is the preference of a customer who asked for fewer messages
// (「少なめに」): the frequency cap halves for them.
const (
	PrefFrequency = "frequency"
	Fewer         = "fewer"
)

// WantsFewer reports whether the customer asked for fewer messages.
func (c *Customer) WantsFewer() bool { return c.Preferences[PrefFrequency] == Fewer }

// AskForFewer records that the customer asked for fewer messages; it reports
// whether that changed anything.
func (c *Customer) AskForFewer() bool {
	if c.WantsFewer() {
		return false
	}
	if c.Preferences == nil {
		c.Preferences = map[string]string{}
	}
	c.Preferences[PrefFrequency] = Fewer
	return true
}
