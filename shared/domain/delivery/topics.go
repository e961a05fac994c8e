package delivery

import (
	"fmt"
	"regexp"
	"slices"
	"unicode/utf8"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
)

// Topic is something a customer may stop hearing about (配信設定), on every
// channel at once: stopping the newsletter by email must not bring it by
// LINE instead. Each topic is one SendGrid unsubscribe group, so SendGrid's
// own unsubscribe pages, and its group_unsubscribe events, speak of it.
type Topic struct {
	ID    string         `yaml:"id"`
	Label string         `yaml:"label"` // what the customer sees, e.g. ニュースレター
	Note  string         `yaml:"note"`  // a line under it on the preference page
	Kinds []message.Kind `yaml:"kinds"`
	// Group is the SendGrid unsubscribe group (asm.group_id) of its emails;
	// 0: none (the emails go without one).
	Group int `yaml:"sendgrid_group"`
}

// Topics are every topic, in the order customers see them.
type Topics []Topic

// Of is the topic of a kind; transactional kinds have none.
func (ts Topics) Of(k message.Kind) (Topic, bool) {
	for _, t := range ts {
		if slices.Contains(t.Kinds, k) {
			return t, true
		}
	}
	return Topic{}, false
}

// ByID is the topic with an id.
func (ts Topics) ByID(id string) (Topic, bool) {
	for _, t := range ts {
		if t.ID == id {
			return t, true
		}
	}
	return Topic{}, false
}

// ByGroup is the topic of a SendGrid unsubscribe group.
func (ts Topics) ByGroup(group int) (Topic, bool) {
	for _, t := range ts {
		if group != 0 && t.Group == group {
			return t, true
		}
	}
	return Topic{}, false
}

// Groups are the SendGrid unsubscribe groups of every topic, for
// asm.groups_to_display: SendGrid's own preference page then lists them all.
func (ts Topics) Groups() []int {
	var out []int
	for _, t := range ts {
		if t.Group != 0 {
			out = append(out, t.Group)
		}
	}
	return out
}

// Stops reports whether the customer stopped the topic of a kind, and why
// (a reason for the message record).
func (ts Topics) Stops(c *customer.Customer, k message.Kind) (bool, string) {
	t, ok := ts.Of(k)
	if !ok || !c.Stopped(t.ID) {
		return false, ""
	}
	return true, "customer stopped the " + t.ID + " topic (配信設定)"
}

// DefaultTopics are the topics when delivery.yaml names none: every
// non-transactional kind has one, without SendGrid groups.
var DefaultTopics = Topics{
	{ID: "newsletter", Label: "ニュースレター", Note: "季節のお便りや新しい品のご案内", Kinds: []message.Kind{message.Newsletter}},
	{ID: "events", Label: "イベントのご案内", Note: "イベントやワークショップのお知らせ", Kinds: []message.Kind{message.Event}},
	{ID: "birthday", Label: "お誕生日のお祝い", Note: "お誕生月のお祝いとささやかな贈り物", Kinds: []message.Kind{message.Birthday}},
	{ID: "points", Label: "ポイントのお知らせ", Note: "ポイントの有効期限が近づいたときのお知らせ", Kinds: []message.Kind{message.Points}},
	{ID: "follow-up", Label: "お店からのお便り", Note: "お買い物のあとのご案内、ご感想のお願い、久しぶりのごあいさつなど",
		Kinds: []message.Kind{message.Step, message.Feedback, message.Lapsed, message.Surprise, message.Referral}},
}

// MaxTopicLabel is how long a topic's label may be: a LINE quick reply
// label holds 20 characters, and the menu adds 「を停止」 or 「を再開」.
const MaxTopicLabel = 16

// maxGroups: SendGrid's groups_to_display takes at most 25 groups.
const maxGroups = 25

var topicID = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// checkTopics refuses topics a customer could not rely on: an unknown
// kind, a kind in two topics or in none, a transactional kind in one (it
// must always reach the customer), a SendGrid group used twice.
func checkTopics(ts Topics) error {
	ids, groups, kinds := map[string]bool{}, map[int]string{}, map[message.Kind]string{}
	for i, t := range ts {
		switch {
		case !topicID.MatchString(t.ID):
			return fmt.Errorf("topics[%d]: id %q: want lower-case letters, digits and -", i, t.ID)
		case ids[t.ID]:
			return fmt.Errorf("topics: id %q used twice", t.ID)
		case t.Label == "" || utf8.RuneCountInString(t.Label) > MaxTopicLabel:
			return fmt.Errorf("topics.%s: label: want 1 to %d characters (it is a LINE button)", t.ID, MaxTopicLabel)
		case len(t.Kinds) == 0:
			return fmt.Errorf("topics.%s: kinds: name at least one message kind", t.ID)
		case t.Group < 0:
			return fmt.Errorf("topics.%s: sendgrid_group %d: want the id of a SendGrid unsubscribe group, or leave it out", t.ID, t.Group)
		}
		ids[t.ID] = true
		if t.Group != 0 {
			if other, dup := groups[t.Group]; dup {
				return fmt.Errorf("topics.%s: sendgrid_group %d is also %s's: each topic needs its own unsubscribe group", t.ID, t.Group, other)
			}
			groups[t.Group] = t.ID
		}
		for _, k := range t.Kinds {
			switch other, dup := kinds[k]; {
			case !k.Valid():
				return fmt.Errorf("topics.%s: unknown kind %q (want one of %v)", t.ID, k, message.Kinds)
			case Transactional(k):
				return fmt.Errorf("topics.%s: %s is transactional (it answers a purchase) and always goes: it belongs to no topic", t.ID, k)
			case dup:
				return fmt.Errorf("topics.%s: kind %s is also in %s: a kind belongs to one topic", t.ID, k, other)
			}
			kinds[k] = t.ID
		}
	}
	if len(groups) > maxGroups {
		return fmt.Errorf("topics: %d SendGrid groups; SendGrid shows at most %d", len(groups), maxGroups)
	}
	for _, k := range message.Kinds {
		if _, ok := kinds[k]; !ok && !Transactional(k) {
			return fmt.Errorf("topics: kind %s is in no topic: add it to one, so customers can stop it", k)
		}
	}
	return nil
}
