"""robots.txt rules for one host: allow/disallow via urllib.robotparser, plus a Crawl-delay that may be fractional."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.robotparser import RobotFileParser


@dataclass
class RobotsRules:
    """What a host's robots.txt says to our user agent."""

    parser: RobotFileParser
    crawl_delay: float = 0.0
    note: str = ""  # how the rules were obtained ("robots.txt", "no robots.txt (404)", ...)
    # Set when robots.txt could not be read (network failure, 5xx): why nothing on the host is fetched. A
    # failure to learn the rules is reported as that, never as "disallowed by robots.txt".
    blocked: str | None = None

    def allows(self, url: str, user_agent: str) -> bool:
        """True when robots.txt lets `user_agent` fetch `url`."""
        return self.parser.can_fetch(user_agent, url)


def parse_robots(text: str, user_agent: str, note: str = "robots.txt") -> RobotsRules:
    """Rules from a robots.txt body."""
    rp = RobotFileParser()
    rp.parse(text.splitlines())
    return RobotsRules(rp, crawl_delay_for(text, user_agent), note)


def allow_all(note: str) -> RobotsRules:
    """Rules when robots.txt is absent (4xx): everything is allowed (RFC 9309 section 2.3.1.3)."""
    rp = RobotFileParser()
    rp.allow_all = True
    return RobotsRules(rp, 0.0, note)


def disallow_all(note: str, blocked: str | None = None) -> RobotsRules:
    """Rules when robots.txt is unreachable (5xx, network error): nothing is allowed (RFC 9309 section 2.3.1.4);
    `blocked` is the reason every refused URL reports."""
    rp = RobotFileParser()
    rp.disallow_all = True
    return RobotsRules(rp, 0.0, note, blocked)


def crawl_delay_for(text: str, user_agent: str) -> float:
    """The Crawl-delay of the group that applies to `user_agent` (its own group, else `*`); fractions allowed.

    urllib.robotparser only accepts whole seconds, and many sites write `Crawl-delay: 0.5`.
    """
    token = user_agent.split("/")[0].strip().lower()
    groups: list[tuple[list[str], float | None]] = []
    agents: list[str] = []
    delay: float | None = None
    in_rules = False
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if ":" not in line:
            continue
        key, value = (s.strip() for s in line.split(":", 1))
        key = key.lower()
        if key == "user-agent":
            if in_rules:  # a user-agent after rules starts a new group
                groups.append((agents, delay))
                agents, delay, in_rules = [], None, False
            agents.append(value.lower())
        elif agents:
            in_rules = True
            if key == "crawl-delay":
                try:
                    delay = max(0.0, float(value))
                except ValueError:
                    pass
    if agents:
        groups.append((agents, delay))
    specific = [d for names, d in groups if any(n != "*" and n in token for n in names)]
    fallback = [d for names, d in groups if "*" in names]
    for candidates in (specific, fallback):
        if candidates:
            return candidates[0] or 0.0
    return 0.0
