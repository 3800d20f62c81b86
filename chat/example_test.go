package chat_test

import (
	"fmt"
	"time"

	"github.com/voipkit/voipkit/chat"
)

func ExampleMarshalComposing() {
	doc, err := chat.MarshalComposing(chat.Composing{
		State:       chat.StateActive,
		LastActive:  time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC),
		ContentType: "text/plain",
		Refresh:     60 * time.Second,
	})
	if err != nil {
		panic(err)
	}
	fmt.Print(string(doc))
	// Output:
	// <?xml version="1.0" encoding="UTF-8"?>
	// <isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing">
	//   <state>active</state>
	//   <lastactive>2024-03-01T12:00:00Z</lastactive>
	//   <contenttype>text/plain</contenttype>
	//   <refresh>60</refresh>
	// </isComposing>
}

func ExampleParseComposing() {
	c, err := chat.ParseComposing([]byte(`<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing"><state>idle</state></isComposing>`))
	fmt.Println(c.Active(), err)
	_, err = chat.ParseComposing([]byte(`<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing"><state>typing</state></isComposing>`))
	fmt.Println(err)
	// Output:
	// false <nil>
	// chat: malformed isComposing document: state "typing" (want "active" or "idle")
}

func ExampleIsText() {
	fmt.Println(chat.IsText("text/plain;charset=UTF-8"), chat.IsText(chat.ComposingType))
	// Output: true false
}
