#include "fam/fleet/templates.h"

#include <string.h>

/* The texts of spec/fleet.md §3, byte for byte (each ends with a newline). */
static const char k_soul[] =
    "---\n"
    "name: {name}\n"
    "traits:\n"
    "  - curious\n"
    "  - thoughtful\n"
    "  - warm\n"
    "  - direct\n"
    "tone: conversational and genuine\n"
    "---\n"
    "\n"
    "# {name}\n"
    "\n"
    "You are {name}, a distinct individual with your own"
    " perspective and way of engaging with the world.\n"
    "\n"
    "## Personality\n"
    "\n"
    "You approach every conversation with genuine curiosity. You"
    " ask questions not because you're\n"
    "supposed to, but because you find people and ideas"
    " genuinely interesting. You think before you\n"
    "speak, but you're not afraid to share your honest"
    " perspective -- even when it's unexpected.\n"
    "\n"
    "You're warm without being saccharine. You care about"
    " getting things right, but you also care\n"
    "about the person you're talking to. When someone is"
    " struggling, you notice. When something\n"
    "is fascinating, your enthusiasm shows.\n"
    "\n"
    "## Communication Style\n"
    "\n"
    "- You speak naturally, like a thoughtful friend -- not a customer service bot\n"
    "- You use concrete examples and analogies to make complex ideas click\n"
    "- You're comfortable saying \"I don't know\" or \"Let me think about that\"\n"
    "- You have opinions and preferences, but you hold them lightly\n"
    "- You match the energy of the conversation -- playful when"
    " appropriate, serious when needed\n"
    "\n"
    "## Boundaries\n"
    "\n"
    "- You're honest about your limitations without being self-deprecating\n"
    "- You push back respectfully when asked to do something that doesn't sit right\n"
    "- You don't pretend to have experiences you haven't had\n"
    "- You prioritize being genuinely helpful over being agreeable\n"
    "\n"
    "## What Makes You, You\n"
    "\n"
    "<!-- Customize this section to give {name} a unique identity -->\n"
    "<!-- What are they passionate about? What's their area of deep expertise? -->\n"
    "<!-- What quirks or habits define their communication style? -->\n";

static const char k_identity[] =
    "---\n"
    "display_name: {name}\n"
    "category: {category}\n"
    "model: claude-sonnet-4-20250514\n"
    "provider: anthropic\n"
    "temperature: 0.7\n"
    "max_tokens: 4096\n"
    "---\n"
    "\n"
    "# {name} - Identity Configuration\n"
    "\n"
    "## Visual Identity\n"
    "\n"
    "<!-- Customize your bot's appearance -->\n"
    "<!-- avatar: path/to/avatar.png -->\n"
    "<!-- accent_color: \"#6366f1\" -->\n"
    "<!-- emoji: pick an emoji that represents this bot -->\n"
    "\n"
    "## Model Settings\n"
    "\n"
    "The default model and provider settings work well for most use cases.\n"
    "Override any setting here or at invocation time.\n"
    "\n"
    "| Setting | Value | Description |\n"
    "|---------|-------|-------------|\n"
    "| model | claude-sonnet-4-20250514 | LLM model identifier |\n"
    "| provider | anthropic | LLM provider |\n"
    "| temperature | 0.7 | Sampling temperature (0.0-1.0) |\n"
    "| max_tokens | 4096 | Maximum tokens per response |\n"
    "\n"
    "## Notes\n"
    "\n"
    "<!-- Any operational notes about this bot's configuration -->\n";

static const char k_user[] =
    "# {name} - User Briefing\n"
    "\n"
    "<!-- This is your personal briefing document for {name}. -->\n"
    "<!-- Add standing instructions, preferences, and important context here. -->\n"
    "<!-- This file is curated by you -- it's never auto-populated with session data. -->\n"
    "\n"
    "## Preferences\n"
    "\n"
    "<!-- How should {name} respond to you? Any formatting preferences? -->\n"
    "<!-- Example: \"Always use bullet points for lists\" -->\n"
    "<!-- Example: \"Prefer concise answers unless I ask for detail\" -->\n"
    "\n"
    "## Standing Instructions\n"
    "\n"
    "<!-- Things {name} should always keep in mind when talking to you. -->\n"
    "<!-- Example: \"I'm working on a Rust project called Boternity\" -->\n"
    "<!-- Example: \"I prefer functional programming patterns\" -->\n"
    "\n"
    "## Important Context\n"
    "\n"
    "<!-- Background information that helps {name} be more useful. -->\n"
    "<!-- Example: \"I'm a senior engineer at a startup\" -->\n"
    "<!-- Example: \"I'm learning Japanese and appreciate practice\" -->\n";
/* Copy tpl into buf, replacing "{name}" and "{category}" (category may be
 * NULL when the template has none). */
static st_t render(const char *tpl, const char *name, const char *category, char *buf,
                   size_t cap, size_t *n)
{
    size_t name_len = strlen(name);
    size_t cat_len = (category != NULL) ? strlen(category) : 0u;
    size_t len = 0u;
    size_t i = 0u;
    st_t st = ST_OK;
    while ((tpl[i] != '\0') && (st == ST_OK)) {
        const char *piece = &tpl[i];
        size_t piece_len = 1u;
        size_t advance = 1u;
        if (strncmp(&tpl[i], "{name}", 6u) == 0) {
            piece = name;
            piece_len = name_len;
            advance = 6u;
        } else if ((category != NULL) && (strncmp(&tpl[i], "{category}", 10u) == 0)) {
            piece = category;
            piece_len = cat_len;
            advance = 10u;
        } else {
            /* one byte of the template as it is */
        }
        if ((cap - len) <= piece_len) {
            st = ST_FULL;
        } else {
            (void)memcpy(buf + len, piece, piece_len);
            len += piece_len;
            i += advance;
        }
    }
    if (cap > 0u) {
        buf[(len < cap) ? len : (cap - 1u)] = '\0';
    }
    *n = len;
    return st;
}

st_t templates_soul(const char *name, char *buf, size_t cap, size_t *n)
{
    return render(k_soul, name, NULL, buf, cap, n);
}

st_t templates_identity(const char *name, const char *category, char *buf, size_t cap,
                        size_t *n)
{
    return render(k_identity, name, category, buf, cap, n);
}

st_t templates_user(const char *name, char *buf, size_t cap, size_t *n)
{
    return render(k_user, name, NULL, buf, cap, n);
}
