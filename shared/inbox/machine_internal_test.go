package inbox

import "testing"

// A bot's message is no person's reply: past Meta's 24-hour window it may
// not use the HUMAN_AGENT tag, whoever it speaks for.
func TestByPersonExcludesMachineClients(t *testing.T) {
	bot := Actor{WorkspaceID: "ws", UserID: MachineUserID("c1"), Role: RoleAgent, ClientID: "c1", Name: "Bot"}
	agent := Actor{WorkspaceID: "ws", UserID: "u1", Role: RoleAgent}
	var byBot, byAgent Message
	byBot.setAuthor(bot)
	byAgent.setAuthor(agent)
	if byBot.AuthorID != "client:c1" || byBot.AuthorName != "Bot" || byAgent.AuthorID != "u1" || byAgent.AuthorName != "" {
		t.Errorf("authors = %q %q / %q %q, want client:c1 Bot / u1 and no name", byBot.AuthorID, byBot.AuthorName, byAgent.AuthorID, byAgent.AuthorName)
	}
	if byPerson(&byBot) || !byPerson(&byAgent) {
		t.Errorf("byPerson: bot %t, agent %t; want false, true", byPerson(&byBot), byPerson(&byAgent))
	}
	if !bot.IsMachine() || bot.IsAdmin() || !IsMachineUserID(bot.UserID) || IsMachineUserID(agent.UserID) {
		t.Errorf("bot %+v is a machine, never an admin", bot)
	}
	if (Actor{ClientID: "c1", Scopes: "messages.writer contacts.read"}).HasScope("messages.write") {
		t.Error("HasScope matched a prefix of a scope")
	}
}
