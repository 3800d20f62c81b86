package presence

import "strings"

// PhoneBook is a phone directory in the EZPhoneDirectory XML format:
//
//	<EZPhoneDirectory>
//	  <PbookGroup>
//	    <GroupName>Company</GroupName>
//	    <DirectoryEntry>
//	      <Name>Jim</Name><Telephone>20008</Telephone><Blf>Yes</Blf>
//	    </DirectoryEntry>
//	  </PbookGroup>
//	</EZPhoneDirectory>
type PhoneBook struct {
	Groups []Group
}

// Group is a named group of directory entries.
type Group struct {
	Name    string
	Entries []Entry
}

// Entry is one directory entry; BLF says whether its extension's busy
// lamp should be monitored.
type Entry struct {
	Name      string
	Telephone string
	BLF       bool
}

// ParsePhoneBook parses an EZPhoneDirectory document. Each group needs a
// GroupName; each entry a Telephone (digits, letters and + * # . - _ @);
// Blf is Yes or No (any case, absent means No). Unknown elements are
// refused. Errors wrap ErrMalformed.
func ParsePhoneBook(data []byte) (*PhoneBook, error) {
	root, err := parseTree(data, MaxPhoneBookSize)
	if err != nil {
		return nil, err
	}
	if !root.is("", "EZPhoneDirectory") {
		return nil, malformed("root element is %q, want EZPhoneDirectory", root.name.Local)
	}
	pb := &PhoneBook{}
	for _, g := range root.kids {
		if !g.is("", "PbookGroup") {
			return nil, malformed("unexpected element %q in EZPhoneDirectory", g.name.Local)
		}
		grp, err := parseGroup(g)
		if err != nil {
			return nil, err
		}
		pb.Groups = append(pb.Groups, grp)
	}
	return pb, nil
}

func parseGroup(n *node) (Group, error) {
	var g Group
	named := false
	for _, k := range n.kids {
		switch {
		case k.is("", "GroupName"):
			if named {
				return g, malformed("group with two names")
			}
			named = true
			g.Name = k.value()
			if err := checkText("group name", g.Name, 256); err != nil {
				return g, err
			}
		case k.is("", "DirectoryEntry"):
			e, err := parseEntry(k)
			if err != nil {
				return g, err
			}
			g.Entries = append(g.Entries, e)
		default:
			return g, malformed("unexpected element %q in PbookGroup", k.name.Local)
		}
	}
	if !named || g.Name == "" {
		return g, malformed("group without GroupName")
	}
	return g, nil
}

func parseEntry(n *node) (Entry, error) {
	var e Entry
	seen := map[string]bool{}
	for _, k := range n.kids {
		if k.name.Space != "" || seen[k.name.Local] {
			return e, malformed("unexpected or repeated element %q in DirectoryEntry", k.name.Local)
		}
		seen[k.name.Local] = true
		v := k.value()
		switch k.name.Local {
		case "Name":
			if err := checkText("name", v, 256); err != nil {
				return e, err
			}
			e.Name = v
		case "Telephone":
			if v == "" || len(v) > 64 || strings.IndexFunc(v, func(r rune) bool {
				return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || strings.ContainsRune("+*#.-_@", r))
			}) >= 0 {
				return e, malformed("telephone %q", v)
			}
			e.Telephone = v
		case "Blf":
			switch strings.ToLower(v) {
			case "yes":
				e.BLF = true
			case "no":
			default:
				return e, malformed("Blf %q is neither Yes nor No", v)
			}
		default:
			return e, malformed("unexpected element %q in DirectoryEntry", k.name.Local)
		}
	}
	if e.Telephone == "" {
		return e, malformed("entry %q without Telephone", e.Name)
	}
	return e, nil
}

// BLFExtensions returns the telephone numbers flagged for BLF, each once,
// in document order.
func (pb *PhoneBook) BLFExtensions() []string {
	var out []string
	seen := map[string]bool{}
	for _, g := range pb.Groups {
		for _, e := range g.Entries {
			if e.BLF && !seen[e.Telephone] {
				seen[e.Telephone] = true
				out = append(out, e.Telephone)
			}
		}
	}
	return out
}
