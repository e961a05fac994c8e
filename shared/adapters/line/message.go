package line

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"

	"github.com/daifuku/daifuku/shared/domain/render"
)

// Limits of the Messaging API: characters of a text message and of a Flex
// message's alt text; bytes of a Flex bubble's and carousel's JSON.
const (
	MaxText          = 5000
	MaxAltText       = 1500
	MaxBubbleBytes   = 30_000
	MaxCarouselBytes = 50_000
)

// Message converts rendered content into an SDK message, checking it against
// LINE's limits and, for Flex, the SDK's own types.
func Message(msg *render.LINE) (messaging_api.MessageInterface, error) {
	switch {
	case msg == nil:
		return nil, errors.New("no LINE content")
	case len(msg.Flex) > 0:
		if err := ValidateFlex(msg.Flex); err != nil {
			return nil, err
		}
		if len(msg.QuickReply) == 0 {
			return rawFlex(msg.Flex), nil
		}
		return withQuickReply(msg.Flex, msg.QuickReply)
	case msg.Text == "":
		return nil, errors.New("LINE text message is empty")
	case utf8.RuneCountInString(msg.Text) > MaxText:
		return nil, fmt.Errorf("LINE text message has %d characters (limit %d)", utf8.RuneCountInString(msg.Text), MaxText)
	}
	qr, err := quickReply(msg.QuickReply)
	if err != nil {
		return nil, err
	}
	// A pointer: the SDK sets "type" in a pointer-receiver MarshalJSON.
	return &messaging_api.TextMessage{Text: msg.Text, QuickReply: qr}, nil
}

// Quick reply limits of the Messaging API.
const (
	maxQuickReplies  = 13
	maxQuickLabel    = 20
	maxPostbackData  = 300
	maxPostbackShown = 300
)

func quickReply(items []render.QuickReply) (*messaging_api.QuickReply, error) {
	if len(items) == 0 {
		return nil, nil
	}
	if len(items) > maxQuickReplies {
		return nil, fmt.Errorf("%d quick reply buttons (limit %d)", len(items), maxQuickReplies)
	}
	qr := &messaging_api.QuickReply{}
	for _, it := range items {
		switch {
		case it.Label == "" || utf8.RuneCountInString(it.Label) > maxQuickLabel:
			return nil, fmt.Errorf("quick reply label %q: want 1 to %d characters", it.Label, maxQuickLabel)
		case it.Data == "" || len(it.Data) > maxPostbackData:
			return nil, fmt.Errorf("quick reply %q: postback data must have 1 to %d bytes", it.Label, maxPostbackData)
		case utf8.RuneCountInString(it.DisplayText) > maxPostbackShown:
			return nil, fmt.Errorf("quick reply %q: display text too long", it.Label)
		}
		qr.Items = append(qr.Items, messaging_api.QuickReplyItem{
			Type:   "action",
			Action: &messaging_api.PostbackAction{Label: it.Label, Data: it.Data, DisplayText: it.DisplayText},
		})
	}
	return qr, nil
}

// ValidateFlex checks a Flex message object with the SDK's types.
func ValidateFlex(raw []byte) error {
	m, err := messaging_api.UnmarshalMessage(raw)
	if err != nil {
		return fmt.Errorf("flex message: %w", err)
	}
	fm, ok := m.(*messaging_api.FlexMessage)
	if !ok {
		if v, isVal := m.(messaging_api.FlexMessage); isVal {
			fm, ok = &v, true
		}
	}
	if !ok {
		return fmt.Errorf("flex message: type is %q, want \"flex\"", m.GetType())
	}
	switch n := utf8.RuneCountInString(fm.AltText); {
	case n == 0:
		return errors.New("flex message: altText is required")
	case n > MaxAltText:
		return fmt.Errorf("flex message: altText has %d characters (limit %d)", n, MaxAltText)
	}
	limit := MaxBubbleBytes
	switch fm.Contents.(type) {
	case *messaging_api.FlexBubble, messaging_api.FlexBubble:
	case *messaging_api.FlexCarousel, messaging_api.FlexCarousel:
		limit = MaxCarouselBytes
	default:
		return errors.New("flex message: contents must be a bubble or a carousel")
	}
	if len(raw) > limit {
		return fmt.Errorf("flex message: %d bytes of JSON (limit %d)", len(raw), limit)
	}
	var tree struct {
		Contents any `json:"contents"`
	}
	if err := json.Unmarshal(raw, &tree); err != nil {
		return fmt.Errorf("flex message: %w", err)
	}
	return knownComponents(tree.Contents)
}

// flexComponents are the component types LINE knows; the SDK decodes any
// other without complaint, and LINE refuses the message.
var flexComponents = map[string]bool{"bubble": true, "carousel": true, "box": true, "text": true, "span": true, "image": true,
	"video": true, "icon": true, "button": true, "separator": true, "spacer": true, "filler": true}

// knownComponents walks a Flex tree (contents, and a bubble's blocks).
func knownComponents(node any) error {
	switch n := node.(type) {
	case []any:
		for _, c := range n {
			if err := knownComponents(c); err != nil {
				return err
			}
		}
	case map[string]any:
		if t, _ := n["type"].(string); !flexComponents[t] {
			return fmt.Errorf("flex message: unknown component type %q", t)
		}
		for _, k := range []string{"contents", "header", "hero", "body", "footer"} {
			if c, ok := n[k]; ok {
				if err := knownComponents(c); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// withQuickReply adds buttons to a Flex message, leaving the rest as written.
func withQuickReply(flex []byte, items []render.QuickReply) (messaging_api.MessageInterface, error) {
	qr, err := quickReply(items)
	if err != nil {
		return nil, err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(flex, &obj); err != nil {
		return nil, fmt.Errorf("flex message: %w", err)
	}
	b, err := json.Marshal(qr)
	if err != nil {
		return nil, err
	}
	obj["quickReply"] = b
	out, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	return rawFlex(out), nil
}

// rawFlex sends the marketer's Flex JSON as written: marshalling through the
// SDK's types would add zero values (e.g. "flex":0) that change the layout.
type rawFlex json.RawMessage

func (rawFlex) GetType() string { return "flex" }

func (r rawFlex) MarshalJSON() ([]byte, error) { return r, nil }
