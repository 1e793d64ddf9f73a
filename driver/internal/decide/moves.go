package decide

import "fmt"

// Mapping is one (volume, SDC) mapping as the gateway reports it, with what the driver knows of
// that SDC.
type Mapping struct {
	// SdcID is the ScaleIO id of the SDC the volume is mapped to.
	SdcID string
	// Host names the SDC for messages: its name if it has one, else its IP.
	Host string
	// Connected is the SDC's mdmConnectionState == "Connected".
	Connected bool
}

// Action is what Mount must do with the volume's mappings before it can use the volume here.
type Action int

const (
	// UseHere: the volume is mapped to this host's SDC already.
	UseHere Action = iota
	// MapHere: the volume is mapped nowhere; map it to this SDC.
	MapHere
	// TakeOver: unmap it from the other SDCs (listed in Move.From), then map it here.
	TakeOver
	// Refuse: another host holds it and may be using it.
	Refuse
)

// Move is the decision of DecideMove.
type Move struct {
	Action Action
	// From lists the other mappings to remove (TakeOver) or the holders (Refuse).
	From []Mapping
	// Reason says why, for the log and the error message.
	Reason string
}

// DecideMove decides whether this host (SDC mySdc) may use a volume with the given mappings.
// A volume mapped to another host is refused, naming that host, unless every other holder's
// SDC is disconnected from the MDM (it cannot be writing: taken over) or force is set (the user
// asked for a takeover). Two hosts never keep one volume mapped at once, so one file system is
// never mounted read-write on two hosts.
func DecideMove(mySdc string, mappings []Mapping, force bool) Move {
	var others []Mapping
	mine := false
	for _, m := range mappings {
		if m.SdcID == mySdc {
			mine = true
			continue
		}
		others = append(others, m)
	}
	if len(others) == 0 {
		if mine {
			return Move{Action: UseHere, Reason: "already mapped to this host"}
		}
		return Move{Action: MapHere, Reason: "not mapped to any host"}
	}
	if force {
		return Move{Action: TakeOver, From: others, Reason: "takeover requested (takeover=true)"}
	}
	var connected []Mapping
	for _, m := range others {
		if m.Connected {
			connected = append(connected, m)
		}
	}
	if len(connected) == 0 {
		return Move{Action: TakeOver, From: others, Reason: fmt.Sprintf("the SDC of host %s is disconnected from the MDM", hosts(others))}
	}
	return Move{Action: Refuse, From: connected, Reason: fmt.Sprintf("the volume is mapped to host %s, whose SDC is connected to the MDM (it may be in use there): stop its containers there first, or run `docker volume create -d scaleio -o takeover=true <name>` on this host to take it over", hosts(connected))}
}

func hosts(ms []Mapping) string {
	s := ""
	for i, m := range ms {
		if i > 0 {
			s += ", "
		}
		s += m.Host
	}
	return s
}
