/*
 * test_bturn.c - the builder's texts (src/fam/fleet/bturn.c): turns as the
 * model writes them (fences, prose around the object, every action, every
 * validation failure), answers and their messages, BuilderConfig limits,
 * assemble's files byte for byte, the system prompts and skill generation
 * replies.
 *
 * JSON in this file is written with ' for " (J() swaps them back), so
 * fixtures read like the JSON they are; an apostrophe in a value would need
 * \u0027.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fam/fleet/bturn.h"
#include "fam/fleet/identity.h"
#include "fam/fleet/skillmd.h"
#include "fam/fleet/templates.h"
#include "json/read.h"
#include "t.h"

#define BIG 65536u

static char g_out[BIG];
static char g_reason[256];
static bturn_info g_info;
static size_t g_len;
static jsmntok_t g_toks[2048];
static char g_j[4][BIG];
static unsigned g_jn;

/* ' -> " (a rotating set of buffers, so a few can be live at once). */
static const char *J(const char *s)
{
    char *b = g_j[g_jn++ % 4u];
    size_t i;
    for (i = 0u; (s[i] != '\0') && (i + 1u < BIG); i++) {
        b[i] = (s[i] == '\'') ? '"' : s[i];
    }
    b[i] = '\0';
    return b;
}

static bool has(const char *hay, const char *needle)
{
    return strstr(hay, needle) != NULL;
}

static bool starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- turns ------------------------------------------------------------------ */

static st_t turn(const char *text)
{
    memset(g_out, 0x5A, 64);
    g_reason[0] = '\0';
    g_len = 0u;
    return bturn_parse(text, strlen(text), g_out, sizeof g_out, &g_len, &g_info, g_reason,
                       sizeof g_reason);
}

/* The turn parses and comes out as expect (J form). */
static void turn_ok(const char *text, const char *expect)
{
    const char *e = J(expect);
    st_t st = turn(text);
    T_EQ_INT(st, ST_OK);
    T_EQ_STR(g_out, e);
    T_EQ_INT(g_len, strlen(e));
    T_CHECK(!json_pool_busy());
}

/* The turn (J form) fails with reason. */
static void turn_bad(const char *text, const char *reason)
{
    st_t st = turn(J(text));
    T_EQ_INT(st, ST_BAD);
    T_EQ_STR(g_reason, reason);
    T_CHECK(!json_pool_busy());
}

#define CLARIFY "{'action':'clarify','message':'Daily? {or} weekly'}"

static void test_phases(void)
{
    bphase p = BPHASE_REVIEW;
    T_EQ_STR(bphase_name(BPHASE_BASICS), "basics");
    T_EQ_STR(bphase_name(BPHASE_REVIEW), "review");
    T_EQ_STR(bphase_label(BPHASE_BASICS), "Setting up basics...");
    T_EQ_STR(bphase_label(BPHASE_PERSONALITY), "Defining personality...");
    T_EQ_STR(bphase_label(BPHASE_MODEL), "Choosing model...");
    T_EQ_STR(bphase_label(BPHASE_SKILLS), "Selecting skills...");
    T_EQ_STR(bphase_label(BPHASE_REVIEW), "Final review...");
    T_CHECK(bphase_parse(STRV_LIT("skills"), &p) && (p == BPHASE_SKILLS));
    T_CHECK(bphase_parse(STRV_LIT("basics"), &p) && (p == BPHASE_BASICS));
    T_CHECK(!bphase_parse(STRV_LIT("Skills"), &p));
    T_CHECK(!bphase_parse(STRV_LIT("skill"), &p));
    T_CHECK(!bphase_parse(STRV_LIT(""), &p));
}

static void test_reply_framing(void)
{
    const char *want = "{'action':'clarify','message':'Daily? {or} weekly'}";
    turn_ok(J(CLARIFY), want);
    turn_ok(J("  \n" CLARIFY "\n\t "), want);
    turn_ok(J("```json\n" CLARIFY "\n```"), want);
    turn_ok(J("```\n" CLARIFY "\n```\n"), want);
    turn_ok(J("```JSON\n" CLARIFY "```"), want);
    turn_ok(J("```" CLARIFY "```"), want);
    turn_ok(J("```json\n" CLARIFY), want);
    turn_ok(J("Here is my next turn:\n" CLARIFY "\nHope that helps! {not json}"), want);
    turn_ok(J("Sure.\n```json\n" CLARIFY "\n```\nAnything else?"), want);
    /* braces and quotes inside strings do not count */
    turn_ok(J("{'action':'clarify','message':'a } b \\' } { c'} trailing }"),
            "{'action':'clarify','message':'a } b \\' } { c'}");
    turn_ok(J("{'message':'x\\\\','action':'clarify'}"), "{'action':'clarify','message':'x\\\\'}");
    /* escapes are written again in the writer's form */
    turn_ok(J("{'action':'clarify','message':'caf\\u00e9 \\/ \\n'}"),
            "{'action':'clarify','message':'caf\xc3\xa9 / \\n'}");
    T_EQ_INT(g_info.action, BT_CLARIFY);
    T_CHECK(!g_info.has_phase);

    turn_bad("", "no JSON object in the reply");
    turn_bad("   ", "no JSON object in the reply");
    turn_bad("I think the bot should be called Scout.", "no JSON object in the reply");
    turn_bad("```json\n```", "no JSON object in the reply");
    turn_bad("{'action':'clarify','message':'x'", "unterminated JSON object in the reply");
    turn_bad("{'action':'clarify','message':'}", "unterminated JSON object in the reply");
    turn_bad("{'action':'clarify',}", "invalid JSON: Expecting property name enclosed in double quotes");
    turn_bad("{'action' 'clarify'}", "invalid JSON: Expecting ':' delimiter");
    turn_bad("{action:1}", "invalid JSON: Expecting property name enclosed in double quotes");
}

static void test_ask_question(void)
{
    turn_ok(J("{'question':'What should it be called?','phase':'basics','extra':[1,{'a':2}],"
              "'action':'ask_question','options':[{'label':'Paper Scout','id':'1',"
              "'description':'Short','x':true},{'id':'other','label':'Other'},"
              "{'id':'2','label':'Lit Pal','description':null}],'allow_free_text':true}"),
            "{'action':'ask_question','phase':'basics','question':'What should it be called?',"
            "'options':[{'id':'1','label':'Paper Scout','description':'Short'},"
            "{'id':'other','label':'Other','description':null},"
            "{'id':'2','label':'Lit Pal','description':null}],'allow_free_text':true,"
            "'phase_label':null}");
    T_EQ_INT(g_info.action, BT_ASK);
    T_CHECK(g_info.has_phase);
    T_EQ_INT(g_info.phase, BPHASE_BASICS);

    turn_ok(J("{'action':'ask_question','phase':'model','question':'Q','options':[],"
              "'allow_free_text':false,'phase_label':'Choosing model...'}"),
            "{'action':'ask_question','phase':'model','question':'Q','options':[],"
            "'allow_free_text':false,'phase_label':'Choosing model...'}");
    T_EQ_INT(g_info.phase, BPHASE_MODEL);
    turn_ok(J("{'action':'ask_question','phase':'review','question':'Q','options':[],"
              "'allow_free_text':true,'phase_label':null}"),
            "{'action':'ask_question','phase':'review','question':'Q','options':[],"
            "'allow_free_text':true,'phase_label':null}");
    T_EQ_INT(g_info.phase, BPHASE_REVIEW);
}

static void test_show_preview(void)
{
    turn_ok(J("{'preview':{'skills':['arxiv-search','web'],'phase':'review','name':'Paper Scout',"
              "'model':null,'zzz':2},'action':'show_preview','phase':'review','more':{}}"),
            "{'action':'show_preview','phase':'review','preview':{'name':'Paper Scout',"
            "'description':null,'personality_summary':null,'model':null,"
            "'skills':['arxiv-search','web'],'phase':'review'}}");
    T_EQ_INT(g_info.action, BT_PREVIEW);
    T_CHECK(g_info.has_phase);
    T_EQ_INT(g_info.phase, BPHASE_REVIEW);
    turn_ok(J("{'action':'show_preview','phase':'skills','preview':{'name':null,"
              "'description':'d','personality_summary':'calm','model':'m','skills':[],"
              "'phase':'personality'}}"),
            "{'action':'show_preview','phase':'skills','preview':{'name':null,'description':'d',"
            "'personality_summary':'calm','model':'m','skills':[],'phase':'personality'}}");
    T_EQ_INT(g_info.phase, BPHASE_SKILLS);
}

static void test_ready_to_assemble(void)
{
    turn_ok(J("{'action':'ready_to_assemble','config':{'name':'  Paper Scout ','tags':['papers','ml'],"
              "'personality':{'tone':'precise','traits':['curious','concise'],"
              "'purpose':'Track new ML papers.'},'model_config':{'max_tokens':4096,"
              "'model':'claude-sonnet-4-20250514','temperature':0.4},'skills':[{'skill_type':'local',"
              "'name':'arxiv-search','description':'Search arXiv'}],'extra':'x'}}"),
            "{'action':'ready_to_assemble','config':{'name':'Paper Scout','description':'',"
            "'category':'assistant','tags':['papers','ml'],'personality':{'tone':'precise',"
            "'traits':['curious','concise'],'purpose':'Track new ML papers.','boundaries':null},"
            "'model_config':{'model':'claude-sonnet-4-20250514','temperature':0.4,"
            "'max_tokens':4096},'skills':[{'name':'arxiv-search','description':'Search arXiv',"
            "'skill_type':'local'}]}}");
    T_EQ_INT(g_info.action, BT_READY);
    T_CHECK(!g_info.has_phase);
    turn_ok(J("{'action':'ready_to_assemble','config':{'name':'N','description':'D',"
              "'category':'weird','tags':null,'personality':{'tone':'t','traits':null,'purpose':'p',"
              "'boundaries':'b'},'model_config':{'model':'m','temperature':1,'max_tokens':1},"
              "'skills':null}}"),
            "{'action':'ready_to_assemble','config':{'name':'N','description':'D',"
            "'category':'weird','tags':[],'personality':{'tone':'t','traits':[],'purpose':'p',"
            "'boundaries':'b'},'model_config':{'model':'m','temperature':1,'max_tokens':1},"
            "'skills':[]}}");
    /* a bad config is a bad turn, with the config's reason */
    turn_bad("{'action':'ready_to_assemble','config':{'name':'N','personality':{'tone':'t',"
             "'purpose':'p'},'model_config':{'model':'m','temperature':2.5,'max_tokens':10}}}",
             "Invalid field 'config.model_config.temperature': must be between 0 and 2");
    turn_bad("{'action':'ready_to_assemble'}", "Invalid field 'config': required");
    turn_bad("{'action':'ready_to_assemble','config':[]}",
             "Invalid field 'config': expected an object");
}

static void test_turn_failures(void)
{
    turn_bad("{}", "field 'action' missing");
    turn_bad("{'action':3}", "field 'action' is not a string");
    turn_bad("{'action':null}", "field 'action' is not a string");
    turn_bad("{'action':'dance'}", "unknown action 'dance'");
    turn_bad("{'action':'Clarify','message':'m'}", "unknown action 'Clarify'");
    turn_bad("{'action':'clarify'}", "field 'message' missing");
    turn_bad("{'action':'clarify','message':null}", "field 'message' is not a string");
    turn_bad("{'action':'clarify','message':'a\\u0000b'}", "field 'message' contains U+0000");

#define ASK_OPTS "'options':[{'id':'1','label':'A'}],'allow_free_text':true"
    turn_bad("{'action':'ask_question','question':'Q'," ASK_OPTS "}", "field 'phase' missing");
    turn_bad("{'action':'ask_question','phase':'intro','question':'Q'," ASK_OPTS "}",
             "field 'phase' is not a BuilderPhase");
    turn_bad("{'action':'ask_question','phase':'Basics','question':'Q'," ASK_OPTS "}",
             "field 'phase' is not a BuilderPhase");
    turn_bad("{'action':'ask_question','phase':2,'question':'Q'," ASK_OPTS "}",
             "field 'phase' is not a BuilderPhase");
    turn_bad("{'action':'ask_question','phase':'basics'," ASK_OPTS "}",
             "field 'question' missing");
    turn_bad("{'action':'ask_question','phase':'basics','question':['Q']," ASK_OPTS "}",
             "field 'question' is not a string");
    turn_bad("{'action':'ask_question','phase':'basics','question':'Q','allow_free_text':true}",
             "field 'options' missing");
    turn_bad("{'action':'ask_question','phase':'basics','question':'Q','options':{},"
             "'allow_free_text':true}",
             "field 'options' is not an array");
    turn_bad("{'action':'ask_question','phase':'basics','question':'Q','options':[{'id':'1',"
             "'label':'A'},'B'],'allow_free_text':true}",
             "field 'options[1]' is not an object");
    turn_bad("{'action':'ask_question','phase':'basics','question':'Q','options':[{'label':'A'}],"
             "'allow_free_text':true}",
             "field 'options[0].id' missing");
    turn_bad("{'action':'ask_question','phase':'basics','question':'Q','options':[{'id':1,"
             "'label':'A'}],'allow_free_text':true}",
             "field 'options[0].id' is not a string");
    turn_bad("{'action':'ask_question','phase':'basics','question':'Q','options':[{'id':'1'}],"
             "'allow_free_text':true}",
             "field 'options[0].label' missing");
    turn_bad("{'action':'ask_question','phase':'basics','question':'Q','options':[{'id':'1',"
             "'label':'A'},{'id':'2','label':false}],'allow_free_text':true}",
             "field 'options[1].label' is not a string");
    turn_bad("{'action':'ask_question','phase':'basics','question':'Q','options':[{'id':'1',"
             "'label':'A','description':5}],'allow_free_text':true}",
             "field 'options[0].description' is not a string or null");
    turn_bad("{'action':'ask_question','phase':'basics','question':'Q','options':[{'id':'1',"
             "'label':'A','description':'\\u0000'}],'allow_free_text':true}",
             "field 'options[0].description' contains U+0000");
    turn_bad("{'action':'ask_question','phase':'basics','question':'Q','options':[]}",
             "field 'allow_free_text' missing");
    turn_bad("{'action':'ask_question','phase':'basics','question':'Q','options':[],"
             "'allow_free_text':'yes'}",
             "field 'allow_free_text' is not a boolean");
    turn_bad("{'action':'ask_question','phase':'basics','question':'Q','options':[],"
             "'allow_free_text':true,'phase_label':7}",
             "field 'phase_label' is not a string or null");

#define PV_OK "'skills':[],'phase':'review'"
    turn_bad("{'action':'show_preview','preview':{" PV_OK "}}", "field 'phase' missing");
    turn_bad("{'action':'show_preview','phase':'done','preview':{" PV_OK "}}",
             "field 'phase' is not a BuilderPhase");
    turn_bad("{'action':'show_preview','phase':'review'}", "field 'preview' missing");
    turn_bad("{'action':'show_preview','phase':'review','preview':'all good'}",
             "field 'preview' is not an object");
    turn_bad("{'action':'show_preview','phase':'review','preview':{'name':1," PV_OK "}}",
             "field 'preview.name' is not a string or null");
    turn_bad("{'action':'show_preview','phase':'review','preview':{'description':[]," PV_OK "}}",
             "field 'preview.description' is not a string or null");
    turn_bad("{'action':'show_preview','phase':'review','preview':{'personality_summary':{},"
             PV_OK "}}",
             "field 'preview.personality_summary' is not a string or null");
    turn_bad("{'action':'show_preview','phase':'review','preview':{'model':true," PV_OK "}}",
             "field 'preview.model' is not a string or null");
    turn_bad("{'action':'show_preview','phase':'review','preview':{'phase':'review'}}",
             "field 'preview.skills' missing");
    turn_bad("{'action':'show_preview','phase':'review','preview':{'skills':'a','phase':'review'}}",
             "field 'preview.skills' is not an array of strings");
    turn_bad("{'action':'show_preview','phase':'review','preview':{'skills':['a',2],"
             "'phase':'review'}}",
             "field 'preview.skills' is not an array of strings");
    turn_bad("{'action':'show_preview','phase':'review','preview':{'skills':['\\u0000'],"
             "'phase':'review'}}",
             "field 'preview.skills' contains U+0000");
    turn_bad("{'action':'show_preview','phase':'review','preview':{'skills':[]}}",
             "field 'preview.phase' missing");
    turn_bad("{'action':'show_preview','phase':'review','preview':{'skills':[],'phase':'x'}}",
             "field 'preview.phase' is not a BuilderPhase");

    /* a long unknown action is quoted cut; the reason buffer's size is kept */
    {
        char small[20];
        const char *text = J("{'action':'a-very-long-action-name-indeed-it-is-so-long'}");
        T_EQ_INT(bturn_parse(text, strlen(text), g_out, sizeof g_out, &g_len, &g_info, small,
                             sizeof small),
                 ST_BAD);
        T_EQ_STR(small, "unknown action 'a-v");
        T_EQ_INT(turn(text), ST_BAD);
        T_EQ_STR(g_reason, "unknown action 'a-very-long-action-name-indeed-it-is...'");
    }
}

static void test_turn_output_room(void)
{
    const char *text = J(CLARIFY);
    const char *want = J("{'action':'clarify','message':'Daily? {or} weekly'}");
    size_t n = strlen(want);
    char small[128];
    size_t len = 0u;
    T_EQ_INT(bturn_parse(text, strlen(text), small, n + 1u, &len, &g_info, g_reason,
                         sizeof g_reason),
             ST_OK);
    T_EQ_STR(small, want);
    T_EQ_INT(bturn_parse(text, strlen(text), small, n, &len, &g_info, g_reason, sizeof g_reason),
             ST_TOOBIG);
    T_CHECK(!json_pool_busy());
    /* a bad turn is ST_BAD even when the output is also too small */
    text = J("{'action':'clarify','message':'a long message','x':{'message':1}}");
    T_EQ_INT(bturn_parse(text, strlen(text), small, 4u, &len, &g_info, g_reason, sizeof g_reason),
             ST_TOOBIG);
    text = J("{'action':'ask_question','phase':'basics','question':'a long question',"
             "'options':[{'id':'1','label':'A'},{'id':'2'}],'allow_free_text':true}");
    T_EQ_INT(bturn_parse(text, strlen(text), small, 4u, &len, &g_info, g_reason, sizeof g_reason),
             ST_BAD);
    T_EQ_STR(g_reason, "field 'options[1].label' missing");
}

static void test_option_label_and_question(void)
{
    char buf[128];
    size_t len = 0u;
    T_EQ_INT(turn(J("{'action':'ask_question','phase':'basics','question':'Name?',"
                    "'options':[{'id':'1','label':'Paper Scout'},{'id':'2','label':'Lit \\u00e9'}],"
                    "'allow_free_text':true}")),
             ST_OK);
    T_EQ_INT(bturn_option_label(g_out, g_len, 0u, buf, sizeof buf, &len), ST_OK);
    T_EQ_STR(buf, "Paper Scout");
    T_EQ_INT(len, 11);
    T_EQ_INT(bturn_option_label(g_out, g_len, 1u, buf, sizeof buf, &len), ST_OK);
    T_EQ_STR(buf, "Lit \xc3\xa9");
    T_EQ_INT(bturn_option_label(g_out, g_len, 2u, buf, sizeof buf, &len), ST_NOTFOUND);
    T_EQ_INT(bturn_option_label(g_out, g_len, UINT32_MAX, buf, sizeof buf, &len), ST_NOTFOUND);
    T_EQ_INT(bturn_option_label(g_out, g_len, 0u, buf, 5u, &len), ST_TOOBIG);
    T_EQ_INT(bturn_question(g_out, g_len, buf, sizeof buf, &len), ST_OK);
    T_EQ_STR(buf, "Name?");
    T_EQ_INT(bturn_question(g_out, g_len, buf, 3u, &len), ST_TOOBIG);
    T_CHECK(!json_pool_busy());

    T_EQ_INT(turn(J(CLARIFY)), ST_OK);
    T_EQ_INT(bturn_option_label(g_out, g_len, 0u, buf, sizeof buf, &len), ST_NOTFOUND);
    T_EQ_INT(bturn_question(g_out, g_len, buf, sizeof buf, &len), ST_OK);
    T_EQ_STR(buf, "Daily? {or} weekly");
    T_EQ_INT(turn(J("{'action':'show_preview','phase':'review','preview':{'skills':[],"
                    "'phase':'review'}}")),
             ST_OK);
    T_EQ_INT(bturn_question(g_out, g_len, buf, sizeof buf, &len), ST_OK);
    T_EQ_STR(buf, "Preview");
    T_EQ_INT(bturn_option_label(g_out, g_len, 0u, buf, sizeof buf, &len), ST_NOTFOUND);
    T_EQ_INT(turn(J("{'action':'ready_to_assemble','config':{'name':'N','personality':{'tone':'t',"
                    "'purpose':'p'},'model_config':{'model':'m','temperature':0.5,"
                    "'max_tokens':10}}}")),
             ST_OK);
    T_EQ_INT(bturn_question(g_out, g_len, buf, sizeof buf, &len), ST_OK);
    T_EQ_STR(buf, "Ready to assemble");
    T_EQ_INT(len, 17);

    T_EQ_INT(bturn_question("{nope", 5u, buf, sizeof buf, &len), ST_BAD);
    T_EQ_INT(bturn_option_label("{nope", 5u, 0u, buf, sizeof buf, &len), ST_BAD);
    T_EQ_INT(bturn_question("{}", 2u, buf, sizeof buf, &len), ST_BAD);
    T_CHECK(!json_pool_busy());
}

/* ---- answers ------------------------------------------------------------------------ */

static json_doc g_ad;
static banswer g_a;
static char g_text[(BANSWER_TEXT_MAX_CHARS * 4u) + 1u];

static st_t answer(const char *json)
{
    const char *text = J(json);
    st_t st = json_parse_into(&g_ad, text, strlen(text), g_toks, 2048u, NULL);
    T_EQ_INT(st, ST_OK);
    g_reason[0] = '\0';
    memset(&g_a, 0x5A, sizeof g_a);
    return banswer_parse(&g_ad, 0, &g_a, g_text, sizeof g_text, g_reason, sizeof g_reason);
}

static void answer_bad(const char *json, const char *reason)
{
    T_EQ_INT(answer(json), ST_BAD);
    T_EQ_STR(g_reason, reason);
}

#define RULE "answer must be one of OptionIndex, FreeText, Confirm or \"Back\""

static void test_answers(void)
{
    static char big[(BANSWER_TEXT_MAX_CHARS * 2u) + 64u];
    size_t i;
    char small[8];

    T_EQ_INT(answer("{'OptionIndex':2}"), ST_OK);
    T_EQ_INT(g_a.kind, BA_OPTION);
    T_EQ_INT(g_a.index, 2);
    T_EQ_INT(answer("{'OptionIndex':0}"), ST_OK);
    T_EQ_INT(g_a.index, 0);
    T_EQ_INT(answer("{'OptionIndex':4294967295}"), ST_OK);
    T_EQ_INT(g_a.index, UINT32_MAX);
    answer_bad("{'OptionIndex':-1}", "OptionIndex must be a non-negative integer");
    answer_bad("{'OptionIndex':4294967296}", "OptionIndex must be a non-negative integer");
    answer_bad("{'OptionIndex':1.5}", "OptionIndex must be a non-negative integer");
    answer_bad("{'OptionIndex':'1'}", "OptionIndex must be a non-negative integer");
    answer_bad("{'OptionIndex':null}", "OptionIndex must be a non-negative integer");

    T_EQ_INT(answer("{'FreeText':'Call it \\u00c9mile'}"), ST_OK);
    T_EQ_INT(g_a.kind, BA_FREE);
    T_EQ_STR(g_text, "Call it \xc3\x89mile");
    T_EQ_INT(g_a.text_n, strlen("Call it \xc3\x89mile"));
    T_EQ_INT(answer("{'FreeText':' '}"), ST_OK);
    T_EQ_STR(g_text, " ");
    answer_bad("{'FreeText':''}", "FreeText must not be empty");
    answer_bad("{'FreeText':3}", "FreeText must be a string");
    answer_bad("{'FreeText':null}", "FreeText must be a string");
    answer_bad("{'FreeText':'a\\u0000b'}", "FreeText must not contain U+0000");
    /* 4000 characters of two bytes each, then one more */
    strcpy(big, "{'FreeText':'");
    for (i = 0u; i < BANSWER_TEXT_MAX_CHARS; i++) {
        strcat(big, "\xc3\xa9");
    }
    strcat(big, "'}");
    T_EQ_INT(answer(big), ST_OK);
    T_EQ_INT(g_a.text_n, BANSWER_TEXT_MAX_CHARS * 2u);
    big[strlen(big) - 2u] = '\0';
    strcat(big, "x'}");
    answer_bad(big, "FreeText must be at most 4000 characters");
    /* a text that fits the rules but not the caller's buffer */
    {
        const char *text = J("{'FreeText':'too long for eight'}");
        T_EQ_INT(json_parse_into(&g_ad, text, strlen(text), g_toks, 2048u, NULL), ST_OK);
        T_EQ_INT(banswer_parse(&g_ad, 0, &g_a, small, sizeof small, g_reason, sizeof g_reason),
                 ST_TOOBIG);
    }

    T_EQ_INT(answer("{'Confirm':true}"), ST_OK);
    T_EQ_INT(g_a.kind, BA_CONFIRM);
    T_CHECK(g_a.confirm);
    T_EQ_INT(answer("{'Confirm':false}"), ST_OK);
    T_EQ_INT(g_a.kind, BA_CONFIRM);
    T_CHECK(!g_a.confirm);
    answer_bad("{'Confirm':1}", "Confirm must be true or false");
    answer_bad("{'Confirm':'yes'}", "Confirm must be true or false");

    T_EQ_INT(answer("'Back'"), ST_OK);
    T_EQ_INT(g_a.kind, BA_BACK);
    answer_bad("'back'", RULE);
    answer_bad("'Forward'", RULE);
    answer_bad("''", RULE);
    answer_bad("{'OptionIndex':1,'FreeText':'x'}", RULE);
    answer_bad("{'Confirm':true,'extra':1}", RULE);
    answer_bad("{}", RULE);
    answer_bad("{'Other':1}", RULE);
    answer_bad("{'optionindex':1}", RULE);
    answer_bad("[]", RULE);
    answer_bad("[{'OptionIndex':1}]", RULE);
    answer_bad("3", RULE);
    answer_bad("null", RULE);
    answer_bad("true", RULE);
}

static void test_answer_messages(void)
{
    banswer a;
    char out[128];
    size_t len = 0u;
    memset(&a, 0, sizeof a);
    a.kind = BA_OPTION;
    a.index = 1u;
    T_EQ_INT(banswer_message(&a, NULL, STRV_LIT("Paper Scout"), out, sizeof out, &len), ST_OK);
    T_EQ_STR(out, "Selected option 1: Paper Scout");
    T_EQ_INT(len, strlen(out));
    a.index = 0u;
    T_EQ_INT(banswer_message(&a, NULL, STRV_LIT("Other"), out, sizeof out, &len), ST_OK);
    T_EQ_STR(out, "Selected option 0: Other");
    a.kind = BA_FREE;
    a.text_n = 9u;
    T_EQ_INT(banswer_message(&a, "Call it X (ignored)", STRV_NULL, out, sizeof out, &len), ST_OK);
    T_EQ_STR(out, "Call it X");
    a.kind = BA_CONFIRM;
    a.confirm = true;
    T_EQ_INT(banswer_message(&a, NULL, STRV_NULL, out, sizeof out, &len), ST_OK);
    T_EQ_STR(out, "Yes, confirmed.");
    a.confirm = false;
    T_EQ_INT(banswer_message(&a, NULL, STRV_NULL, out, sizeof out, &len), ST_OK);
    T_EQ_STR(out, "No, I'd like to make changes.");
    a.kind = BA_BACK;
    T_EQ_INT(banswer_message(&a, NULL, STRV_NULL, out, sizeof out, &len), ST_OK);
    T_EQ_STR(out, "The user went back. Ask the appropriate question for this phase again.");
    T_EQ_INT(banswer_message(&a, NULL, STRV_NULL, out, 10u, &len), ST_TOOBIG);
    /* exactly fitting (with the terminator) */
    a.kind = BA_CONFIRM;
    a.confirm = true;
    T_EQ_INT(banswer_message(&a, NULL, STRV_NULL, out, 16u, &len), ST_OK);
    T_EQ_INT(banswer_message(&a, NULL, STRV_NULL, out, 15u, &len), ST_TOOBIG);
}

/* ---- BuilderConfig ------------------------------------------------------------------- */

/* Parts of a config: NULL takes the default, "" leaves the member out,
 * anything else is the member's JSON value as it is (J form). */
typedef struct {
    const char *name;
    const char *description;
    const char *category;
    const char *tags;
    const char *tone;
    const char *traits;
    const char *purpose;
    const char *boundaries;
    const char *model;
    const char *temperature;
    const char *max_tokens;
    const char *skills;
    const char *personality;    /* replaces the whole personality */
    const char *model_config;   /* replaces the whole model_config */
} cfgp;

static char g_cfg[BIG];
static json_doc g_cd;

static void member(char *buf, const char *key, const char *val, const char *dflt)
{
    const char *v = (val != NULL) ? val : dflt;
    if (v[0] == '\0') {
        return;
    }
    if (buf[strlen(buf) - 1u] != '{') {
        strcat(buf, ",");
    }
    strcat(buf, "'");
    strcat(buf, key);
    strcat(buf, "':");
    strcat(buf, v);
}

static const char *cfg_text(const cfgp *p)
{
    static char pers[BIG / 4u];
    static char model[1024];
    static char buf[BIG];
    strcpy(pers, "{");
    member(pers, "tone", p->tone, "'precise'");
    member(pers, "traits", p->traits, "['curious','concise']");
    member(pers, "purpose", p->purpose, "'Track new ML papers.'");
    member(pers, "boundaries", p->boundaries, "");
    strcat(pers, "}");
    strcpy(model, "{");
    member(model, "model", p->model, "'claude-sonnet-4-20250514'");
    member(model, "temperature", p->temperature, "0.4");
    member(model, "max_tokens", p->max_tokens, "4096");
    strcat(model, "}");
    strcpy(buf, "{");
    member(buf, "name", p->name, "'Paper Scout'");
    member(buf, "description", p->description, "");
    member(buf, "category", p->category, "");
    member(buf, "tags", p->tags, "");
    member(buf, "personality", p->personality, pers);
    member(buf, "model_config", p->model_config, model);
    member(buf, "skills", p->skills, "");
    strcat(buf, "}");
    return J(buf);
}

static st_t check(const cfgp *p)
{
    const char *text = cfg_text(p);
    strcpy(g_cfg, text);
    T_EQ_INT(json_parse_into(&g_cd, g_cfg, strlen(g_cfg), g_toks, 2048u, NULL), ST_OK);
    g_reason[0] = '\0';
    return bconfig_check(&g_cd, 0, g_reason, sizeof g_reason);
}

static void cfg_ok(const cfgp *p)
{
    st_t st = check(p);
    T_EQ_INT(st, ST_OK);
    if (st != ST_OK) {
        fprintf(stderr, "    (%s)\n", g_reason);
    }
}

static void cfg_bad(const cfgp *p, const char *reason)
{
    T_EQ_INT(check(p), ST_BAD);
    T_EQ_STR(g_reason, reason);
}

/* A JSON string of n copies of unit, quoted with ' (J form). */
static const char *rep(const char *unit, size_t n)
{
    static char bufs[4][BIG / 4u];
    static unsigned k;
    char *b = bufs[k++ % 4u];
    size_t i;
    strcpy(b, "'");
    for (i = 0u; i < n; i++) {
        strcat(b, unit);
    }
    strcat(b, "'");
    return b;
}

/* A JSON array of n strings, each s. */
static const char *arr(const char *s, size_t n)
{
    static char bufs[2][BIG / 4u];
    static unsigned k;
    char *b = bufs[k++ % 2u];
    size_t i;
    strcpy(b, "[");
    for (i = 0u; i < n; i++) {
        if (i > 0u) {
            strcat(b, ",");
        }
        strcat(b, s);
    }
    strcat(b, "]");
    return b;
}

static void test_config_limits(void)
{
    cfgp p;
    char skills[BIG / 4u];
    size_t i;
    memset(&p, 0, sizeof p);
    cfg_ok(&p);

    /* name: 1-100 characters after trimming, no control characters */
    p.name = rep("\xc3\xa9", 100u);
    cfg_ok(&p);
    p.name = rep("\xc3\xa9", 101u);
    cfg_bad(&p, "Invalid field 'config.name': must be at most 100 characters");
    p.name = "'   x   '";
    cfg_ok(&p);
    p.name = "' \\t\\n '";
    cfg_bad(&p, "Invalid field 'config.name': must not be empty");
    p.name = "''";
    cfg_bad(&p, "Invalid field 'config.name': must not be empty");
    p.name = "";
    cfg_bad(&p, "Invalid field 'config.name': required");
    p.name = "null";
    cfg_bad(&p, "Invalid field 'config.name': required");
    p.name = "7";
    cfg_bad(&p, "Invalid field 'config.name': expected a string");
    p.name = "'a\\nprovider: x'";
    cfg_bad(&p, "Invalid field 'config.name': must not contain control characters");
    {
        /* 100 characters between spaces */
        static char padded[1024];
        strcpy(padded, "'  ");
        strcat(padded, rep("n", 100u) + 1);
        padded[strlen(padded) - 1u] = '\0';
        strcat(padded, " \\t '");
        p.name = padded;
        cfg_ok(&p);
        strcpy(padded, "' ");
        strcat(padded, rep("n", 101u) + 1);
        p.name = padded;
        cfg_bad(&p, "Invalid field 'config.name': must be at most 100 characters");
    }
    p.name = NULL;

    /* description: at most 1000 */
    p.description = rep("d", 1000u);
    cfg_ok(&p);
    p.description = rep("d", 1001u);
    cfg_bad(&p, "Invalid field 'config.description': must be at most 1000 characters");
    p.description = "null";
    cfg_ok(&p);
    p.description = "[]";
    cfg_bad(&p, "Invalid field 'config.description': expected a string");
    p.description = "'a\\u0000'";
    cfg_bad(&p, "Invalid field 'config.description': must not contain U+0000");
    p.description = NULL;

    /* category: any string */
    p.category = "'anything at all'";
    cfg_ok(&p);
    p.category = "1";
    cfg_bad(&p, "Invalid field 'config.category': expected a string");
    p.category = NULL;

    /* tags: as a Bot's */
    p.tags = arr(rep("t", 50u), 20u);
    cfg_ok(&p);
    p.tags = arr("'t'", 21u);
    cfg_bad(&p, "Invalid field 'config.tags': at most 20 tags");
    p.tags = arr(rep("t", 51u), 1u);
    cfg_bad(&p, "Invalid field 'config.tags': each tag must be 1-50 characters");
    p.tags = arr("''", 1u);
    cfg_bad(&p, "Invalid field 'config.tags': each tag must be 1-50 characters");
    p.tags = "[1]";
    cfg_bad(&p, "Invalid field 'config.tags': expected an array of strings");
    p.tags = "'a,b'";
    cfg_bad(&p, "Invalid field 'config.tags': expected an array of strings");
    p.tags = "null";
    cfg_ok(&p);
    p.tags = "[]";
    cfg_ok(&p);
    p.tags = NULL;

    /* personality */
    p.personality = "";
    cfg_bad(&p, "Invalid field 'config.personality': required");
    p.personality = "'calm'";
    cfg_bad(&p, "Invalid field 'config.personality': expected an object");
    p.personality = NULL;
    p.tone = rep("t", 200u);
    cfg_ok(&p);
    p.tone = rep("t", 201u);
    cfg_bad(&p, "Invalid field 'config.personality.tone': must be at most 200 characters");
    p.tone = "";
    cfg_bad(&p, "Invalid field 'config.personality.tone': required");
    p.tone = "''";
    cfg_ok(&p);
    p.tone = NULL;
    p.traits = arr(rep("t", 50u), 20u);
    cfg_ok(&p);
    p.traits = arr("'t'", 21u);
    cfg_bad(&p, "Invalid field 'config.personality.traits': at most 20 traits");
    p.traits = arr(rep("t", 51u), 2u);
    cfg_bad(&p, "Invalid field 'config.personality.traits': each trait must be at most 50 characters");
    p.traits = "[true]";
    cfg_bad(&p, "Invalid field 'config.personality.traits': expected an array of strings");
    p.traits = "";
    cfg_ok(&p);
    p.traits = NULL;
    p.purpose = rep("p", 2000u);
    cfg_ok(&p);
    p.purpose = rep("p", 2001u);
    cfg_bad(&p, "Invalid field 'config.personality.purpose': must be at most 2000 characters");
    p.purpose = "";
    cfg_bad(&p, "Invalid field 'config.personality.purpose': required");
    p.purpose = NULL;
    p.boundaries = rep("b", 2000u);
    cfg_ok(&p);
    p.boundaries = rep("b", 2001u);
    cfg_bad(&p, "Invalid field 'config.personality.boundaries': must be at most 2000 characters");
    p.boundaries = "null";
    cfg_ok(&p);
    p.boundaries = "{}";
    cfg_bad(&p, "Invalid field 'config.personality.boundaries': expected a string");
    p.boundaries = NULL;

    /* model_config */
    p.model_config = "";
    cfg_bad(&p, "Invalid field 'config.model_config': required");
    p.model_config = "[]";
    cfg_bad(&p, "Invalid field 'config.model_config': expected an object");
    p.model_config = NULL;
    p.model = "";
    cfg_bad(&p, "Invalid field 'config.model_config.model': required");
    p.model = "'  '";
    cfg_bad(&p, "Invalid field 'config.model_config.model': must not be empty");
    p.model = "'gpt\\n'";
    cfg_ok(&p);
    p.model = "'gp\\u0001t'";
    cfg_bad(&p, "Invalid field 'config.model_config.model': must not contain control characters");
    p.model = NULL;
    p.temperature = "0";
    cfg_ok(&p);
    p.temperature = "2";
    cfg_ok(&p);
    p.temperature = "2.0";
    cfg_ok(&p);
    p.temperature = "-0.0";
    cfg_ok(&p);
    p.temperature = "-0.001";
    cfg_bad(&p, "Invalid field 'config.model_config.temperature': must be between 0 and 2");
    p.temperature = "2.0001";
    cfg_bad(&p, "Invalid field 'config.model_config.temperature': must be between 0 and 2");
    p.temperature = "'0.5'";
    cfg_bad(&p, "Invalid field 'config.model_config.temperature': expected a number");
    p.temperature = "";
    cfg_bad(&p, "Invalid field 'config.model_config.temperature': required");
    p.temperature = NULL;
    p.max_tokens = "1";
    cfg_ok(&p);
    p.max_tokens = "200000";
    cfg_ok(&p);
    p.max_tokens = "0";
    cfg_bad(&p, "Invalid field 'config.model_config.max_tokens': must be between 1 and 200000");
    p.max_tokens = "200001";
    cfg_bad(&p, "Invalid field 'config.model_config.max_tokens': must be between 1 and 200000");
    p.max_tokens = "-5";
    cfg_bad(&p, "Invalid field 'config.model_config.max_tokens': must be between 1 and 200000");
    p.max_tokens = "99999999999999999999";
    cfg_bad(&p, "Invalid field 'config.model_config.max_tokens': must be between 1 and 200000");
    p.max_tokens = "4096.0";
    cfg_bad(&p, "Invalid field 'config.model_config.max_tokens': expected an integer");
    p.max_tokens = "null";
    cfg_bad(&p, "Invalid field 'config.model_config.max_tokens': required");
    p.max_tokens = NULL;

    /* skills: at most 20, each with a skill name */
    p.skills = arr("{'name':'a-1','description':'d','skill_type':'wasm'}", 20u);
    cfg_ok(&p);
    p.skills = arr("{'name':'a-1','description':'d','skill_type':'wasm'}", 21u);
    cfg_bad(&p, "Invalid field 'config.skills': at most 20 skills");
    p.skills = "{'name':'x'}";
    cfg_bad(&p, "Invalid field 'config.skills': expected an array");
    p.skills = "null";
    cfg_ok(&p);
    p.skills = "[7]";
    cfg_bad(&p, "Invalid field 'config.skills[0]': expected an object");
    p.skills = "[{'name':'ok','description':'d','skill_type':'local'},"
               "{'name':'-bad','description':'d','skill_type':'local'}]";
    cfg_bad(&p, "Invalid field 'config.skills[1].name': must match ^[a-z0-9][a-z0-9-]{0,63}$");
    p.skills = "[{'name':'Bad','description':'d','skill_type':'local'}]";
    cfg_bad(&p, "Invalid field 'config.skills[0].name': must match ^[a-z0-9][a-z0-9-]{0,63}$");
    strcpy(skills, "[{'name':");
    strcat(skills, rep("s", 64u));
    strcat(skills, ",'description':'d','skill_type':'local'}]");
    p.skills = skills;
    cfg_ok(&p);
    strcpy(skills, "[{'name':");
    strcat(skills, rep("s", 65u));
    strcat(skills, ",'description':'d','skill_type':'local'}]");
    p.skills = skills;
    cfg_bad(&p, "Invalid field 'config.skills[0].name': must match ^[a-z0-9][a-z0-9-]{0,63}$");
    p.skills = "[{'description':'d','skill_type':'local'}]";
    cfg_bad(&p, "Invalid field 'config.skills[0].name': required");
    p.skills = "[{'name':5,'description':'d','skill_type':'local'}]";
    cfg_bad(&p, "Invalid field 'config.skills[0].name': expected a string");
    strcpy(skills, "[{'name':'s','description':");
    strcat(skills, rep("d", 1000u));
    strcat(skills, ",'skill_type':'local'}]");
    p.skills = skills;
    cfg_ok(&p);
    strcpy(skills, "[{'name':'s','description':");
    strcat(skills, rep("d", 1001u));
    strcat(skills, ",'skill_type':'local'}]");
    p.skills = skills;
    cfg_bad(&p, "Invalid field 'config.skills[0].description': must be at most 1000 characters");
    p.skills = "[{'name':'s','skill_type':'local'}]";
    cfg_bad(&p, "Invalid field 'config.skills[0].description': required");
    p.skills = "[{'name':'s','description':'d'}]";
    cfg_bad(&p, "Invalid field 'config.skills[0].skill_type': required");
    p.skills = "[{'name':'s','description':'d','skill_type':1}]";
    cfg_bad(&p, "Invalid field 'config.skills[0].skill_type': expected a string");
    p.skills = "[{'name':'s','description':'d','skill_type':'anything'}]";
    cfg_ok(&p);
    p.skills = NULL;

    /* the config itself */
    T_EQ_INT(json_parse_into(&g_cd, "[]", 2u, g_toks, 8u, NULL), ST_OK);
    T_EQ_INT(bconfig_check(&g_cd, 0, g_reason, sizeof g_reason), ST_BAD);
    T_EQ_STR(g_reason, "Invalid field 'config': expected an object");
    T_EQ_INT(bconfig_check(&g_cd, -1, g_reason, sizeof g_reason), ST_BAD);
    T_EQ_STR(g_reason, "Invalid field 'config': required");
    for (i = 0u; i < 4u; i++) {
        /* a reason buffer of any size stays terminated */
        char tiny[4];
        memset(&p, 0, sizeof p);
        p.name = "";
        T_EQ_INT(check(&p), ST_BAD);
        T_EQ_INT(bconfig_check(&g_cd, 0, tiny, i + 1u), ST_BAD);
        T_CHECK(strlen(tiny) == i);
    }
}

static void test_category(void)
{
    cfgp p;
    memset(&p, 0, sizeof p);
    T_EQ_INT(check(&p), ST_OK);
    T_EQ_STR(bconfig_category(&g_cd, 0), "assistant");
    p.category = "'research'";
    T_EQ_INT(check(&p), ST_OK);
    T_EQ_STR(bconfig_category(&g_cd, 0), "research");
    p.category = "'creative'";
    T_EQ_INT(check(&p), ST_OK);
    T_EQ_STR(bconfig_category(&g_cd, 0), "creative");
    p.category = "'utility'";
    T_EQ_INT(check(&p), ST_OK);
    T_EQ_STR(bconfig_category(&g_cd, 0), "utility");
    p.category = "'Research'";
    T_EQ_INT(check(&p), ST_OK);
    T_EQ_STR(bconfig_category(&g_cd, 0), "assistant");
    p.category = "null";
    T_EQ_INT(check(&p), ST_OK);
    T_EQ_STR(bconfig_category(&g_cd, 0), "assistant");
}

/* ---- assemble's files ---------------------------------------------------------------- */

static const char k_soul_expect[] =
    "---\n"
    "name: Paper Scout\n"
    "traits:\n"
    "  - curious\n"
    "  - concise\n"
    "tone: precise\n"
    "---\n"
    "\n"
    "# Personality\n"
    "\n"
    "You embody a precise personality with these core traits: curious, concise.\n"
    "\n"
    "You bring these qualities into every interaction, adapting your approach to match\n"
    "the needs of the conversation while staying true to your core character.\n"
    "\n"
    "# Purpose\n"
    "\n"
    "Track new ML papers.\n"
    "\n"
    "# Boundaries\n"
    "\n"
    "Be helpful within your defined purpose. Decline requests outside your expertise area.\n";

static void test_soul(void)
{
    cfgp p;
    size_t len = 0u;
    memset(&p, 0, sizeof p);
    p.name = "' Paper Scout '";
    T_EQ_INT(check(&p), ST_OK);
    T_EQ_INT(bconfig_soul(&g_cd, 0, g_out, sizeof g_out, &len), ST_OK);
    T_EQ_STR(g_out, k_soul_expect);
    T_EQ_INT(len, sizeof k_soul_expect - 1u);
    T_EQ_INT(bconfig_soul(&g_cd, 0, g_out, sizeof k_soul_expect, &len), ST_OK);
    T_EQ_INT(bconfig_soul(&g_cd, 0, g_out, sizeof k_soul_expect - 1u, &len), ST_TOOBIG);

    /* boundaries given; no traits; escapes decoded */
    p.boundaries = "'Never give medical advice.\\nStay on topic.'";
    p.traits = "[]";
    p.tone = "'warm \\u2014 direct'";
    T_EQ_INT(check(&p), ST_OK);
    T_EQ_INT(bconfig_soul(&g_cd, 0, g_out, sizeof g_out, &len), ST_OK);
    T_EQ_STR(g_out, "---\n"
                    "name: Paper Scout\n"
                    "traits:\n"
                    "\n"
                    "tone: warm \xe2\x80\x94 direct\n"
                    "---\n"
                    "\n"
                    "# Personality\n"
                    "\n"
                    "You embody a warm \xe2\x80\x94 direct personality with these core traits: .\n"
                    "\n"
                    "You bring these qualities into every interaction, adapting your approach"
                    " to match\n"
                    "the needs of the conversation while staying true to your core character.\n"
                    "\n"
                    "# Purpose\n"
                    "\n"
                    "Track new ML papers.\n"
                    "\n"
                    "# Boundaries\n"
                    "\n"
                    "Never give medical advice.\n"
                    "Stay on topic.\n");
    /* missing traits are no traits */
    p.traits = "";
    p.boundaries = "null";
    p.tone = NULL;
    T_EQ_INT(check(&p), ST_OK);
    T_EQ_INT(bconfig_soul(&g_cd, 0, g_out, sizeof g_out, &len), ST_OK);
    T_CHECK(has(g_out, "traits:\n\ntone: precise\n"));
    T_CHECK(has(g_out, "# Boundaries\n\nBe helpful within your defined purpose. Decline requests"
                       " outside your expertise area.\n"));
}

static void test_user(void)
{
    cfgp p;
    size_t len = 0u;
    static const char want[] =
        "# User Context for Paper Scout\n"
        "\n"
        "This bot was created with the following purpose: Finds and summarises new ML papers\n"
        "\n"
        "## Preferences\n"
        "(Add your preferences here to help Paper Scout serve you better)\n"
        "\n"
        "## Important Context\n"
        "(Share relevant background information)\n";
    memset(&p, 0, sizeof p);
    p.name = "'Paper Scout  '";
    p.description = "'Finds and summarises new ML papers'";
    T_EQ_INT(check(&p), ST_OK);
    T_EQ_INT(bconfig_user(&g_cd, 0, g_out, sizeof g_out, &len), ST_OK);
    T_EQ_STR(g_out, want);
    T_EQ_INT(len, sizeof want - 1u);
    T_EQ_INT(bconfig_user(&g_cd, 0, g_out, sizeof want - 1u, &len), ST_TOOBIG);
    p.description = NULL;
    T_EQ_INT(check(&p), ST_OK);
    T_EQ_INT(bconfig_user(&g_cd, 0, g_out, sizeof g_out, &len), ST_OK);
    T_CHECK(has(g_out, "\n\nThis bot was created with the following purpose: \n\n## Preferences\n"));
}

static void test_stub(void)
{
    size_t len = 0u;
    static const char want_prompt[] =
        "---\n"
        "name: arxiv-search\n"
        "description: Search arXiv\n"
        "metadata:\n"
        "  version: \"0.1.0\"\n"
        "  skill-type: prompt\n"
        "  author: builder\n"
        "---\n"
        "\n"
        "# arxiv-search\n"
        "\n"
        "Search arXiv\n";
    skillmd m;
    T_EQ_INT(bskill_stub(STRV_LIT("arxiv-search"), STRV_LIT("Search arXiv"), false, g_out,
                         sizeof g_out, &len),
             ST_OK);
    T_EQ_STR(g_out, want_prompt);
    T_EQ_INT(len, sizeof want_prompt - 1u);
    T_EQ_INT(skillmd_parse(g_out, len, &m), ST_OK);
    T_CHECK(strv_eq_cstr(m.skill_type, "prompt"));
    T_CHECK(strv_eq_cstr(m.version, "0.1.0"));
    T_CHECK(strv_eq_cstr(m.author, "builder"));
    T_EQ_INT(bskill_stub(STRV_LIT("arxiv-search"), STRV_LIT("Search arXiv"), true, g_out,
                         sizeof g_out, &len),
             ST_OK);
    T_CHECK(has(g_out, "\n  skill-type: tool\n"));
    T_EQ_INT(len, sizeof want_prompt - 3u);
    T_EQ_INT(bskill_stub(STRV_LIT("a"), STRV_LIT("b"), true, g_out, 20u, &len), ST_TOOBIG);
}

static void test_identity(void)
{
    cfgp p;
    size_t len = 0u;
    identity_fm fm;
    char tpl[TEMPLATES_BUF_BYTES];
    size_t tn = 0u;
    const char *tbody;
    const char *body;
    memset(&p, 0, sizeof p);
    p.name = "'  Paper Scout '";
    p.category = "'research'";
    p.model = "' gpt-4o-mini '";
    p.temperature = "0.4";
    p.max_tokens = "8192";
    T_EQ_INT(check(&p), ST_OK);
    T_EQ_INT(bconfig_identity(&g_cd, 0, "openai", g_out, sizeof g_out, &len), ST_OK);
    T_EQ_INT(len, strlen(g_out));
    T_CHECK(identity_parse(strv_make(g_out, len), &fm));
    T_CHECK(strv_eq_cstr(fm.display_name, "Paper Scout"));
    T_CHECK(strv_eq_cstr(fm.category, "research"));
    T_CHECK(strv_eq_cstr(fm.model, "gpt-4o-mini"));
    T_CHECK(strv_eq_cstr(fm.provider, "openai"));
    T_CHECK(fm.temperature == 0.4);
    T_EQ_INT(fm.max_tokens, 8192);
    /* the frontmatter, then the default identity body */
    T_CHECK(starts(g_out,
                    "---\ndisplay_name: Paper Scout\ncategory: research\nmodel: gpt-4o-mini\n"
                    "provider: openai\ntemperature: 0.4\nmax_tokens: 8192\n---\n\n"
                    "# Paper Scout - Identity Configuration\n"));
    T_EQ_INT(templates_identity("Paper Scout", "research", tpl, sizeof tpl, &tn), ST_OK);
    tbody = strstr(tpl + 3, "\n---\n") + 5;
    body = strstr(g_out + 3, "\n---\n") + 5;
    T_EQ_STR(body, tbody);

    /* defaults: an unknown category, no provider; whole numbers */
    p.category = "'weird'";
    p.model = NULL;
    p.temperature = "1";
    p.max_tokens = "1";
    T_EQ_INT(check(&p), ST_OK);
    T_EQ_INT(bconfig_identity(&g_cd, 0, NULL, g_out, sizeof g_out, &len), ST_OK);
    T_CHECK(identity_parse(strv_make(g_out, len), &fm));
    T_CHECK(strv_eq_cstr(fm.category, "assistant"));
    T_CHECK(strv_eq_cstr(fm.provider, "anthropic"));
    T_CHECK(strv_eq_cstr(fm.model, "claude-sonnet-4-20250514"));
    T_CHECK(fm.temperature == 1.0);
    T_EQ_INT(fm.max_tokens, 1);
    T_CHECK(has(g_out, "\ntemperature: 1\nmax_tokens: 1\n---\n"));
    p.temperature = "0";
    p.max_tokens = "200000";
    T_EQ_INT(check(&p), ST_OK);
    T_EQ_INT(bconfig_identity(&g_cd, 0, NULL, g_out, sizeof g_out, &len), ST_OK);
    T_CHECK(identity_parse(strv_make(g_out, len), &fm));
    T_CHECK(fm.temperature == 0.0);
    T_EQ_INT(fm.max_tokens, 200000);
    p.temperature = "0.00001";
    T_EQ_INT(check(&p), ST_OK);
    T_EQ_INT(bconfig_identity(&g_cd, 0, NULL, g_out, sizeof g_out, &len), ST_OK);
    T_CHECK(identity_parse(strv_make(g_out, len), &fm));
    T_CHECK(fm.temperature == 0.00001);

    /* exactly the room it needs, then one byte less */
    T_EQ_INT(bconfig_identity(&g_cd, 0, NULL, g_out, len + 1u, &len), ST_OK);
    T_EQ_INT(bconfig_identity(&g_cd, 0, NULL, g_out, len, &tn), ST_TOOBIG);
    T_EQ_INT(bconfig_identity(&g_cd, 0, NULL, g_out, 10u, &tn), ST_TOOBIG);
    /* a file shorter than the default one fits its own size too */
    p.model = "'m'";
    p.temperature = "1";
    p.max_tokens = "1";
    T_EQ_INT(check(&p), ST_OK);
    T_EQ_INT(bconfig_identity(&g_cd, 0, "x", g_out, sizeof g_out, &len), ST_OK);
    T_EQ_INT(templates_identity("Paper Scout", "assistant", tpl, sizeof tpl, &tn), ST_OK);
    T_CHECK(len < tn);
    T_EQ_INT(bconfig_identity(&g_cd, 0, "x", g_out, len + 1u, &tn), ST_OK);
    T_EQ_INT(tn, len);
    T_EQ_INT(bconfig_identity(&g_cd, 0, "x", g_out, len, &tn), ST_TOOBIG);
}

/* ---- prompts ------------------------------------------------------------------------- */

/* Every object schema (one with "type": "object") of the prompt's schema
 * says additionalProperties false; returns how many there are. */
static int schema_objects(const char *prompt)
{
    const char *start = strstr(prompt, "and nothing else:\n{");
    const char *end = strstr(prompt, "\n</builder_instructions>");
    json_doc d;
    int t;
    int count = 0;
    T_CHECK((start != NULL) && (end != NULL));
    if ((start == NULL) || (end == NULL)) {
        return -1;
    }
    start += strlen("and nothing else:\n");
    T_EQ_INT(json_parse_into(&d, start, (size_t)(end - start), g_toks, 2048u, NULL), ST_OK);
    for (t = 0; t < json_count(&d); t++) {
        if ((json_type(&d, t) == JSON_OBJECT) && json_str_eq(&d, json_obj_get(&d, t, "type"),
                                                             "object")) {
            T_EQ_INT(json_type(&d, json_obj_get(&d, t, "additionalProperties")), JSON_FALSE);
            count++;
        }
    }
    T_EQ_INT(json_type(&d, json_obj_get(&d, 0, "oneOf")), JSON_ARRAY);
    T_EQ_INT(json_arr_len(&d, json_obj_get(&d, 0, "oneOf")), 4);
    return count;
}

static void test_prompt_system(void)
{
    bprompt p;
    bqa qa[7];
    size_t len = 0u;
    size_t full;
    static const char *const qs[7] = { "first q", "second q", "third q", "fourth q",
                                       "fifth q", "sixth q", "seventh q" };
    size_t i;
    memset(&p, 0, sizeof p);
    p.mode = BMODE_BOT;
    p.initial_description = STRV_LIT("A bot that tracks ML papers");
    p.phase = BPHASE_BASICS;
    T_EQ_INT(bprompt_system(&p, g_out, sizeof g_out, &len), ST_OK);
    T_EQ_INT(len, strlen(g_out));
    T_CHECK(starts(g_out, "<forge_identity>\n"));
    T_CHECK(has(g_out, "</forge_identity>\n\n<builder_instructions>\nMode: new bot creation."));
    T_CHECK(has(g_out, "one smart question at a time"));
    T_CHECK(has(g_out, "explicit confirmation"));
    T_CHECK(has(g_out, "Ask ONE question at a time"));
    T_CHECK(has(g_out, "\"Other\" option"));
    T_CHECK(has(g_out, "3-5 questions"));
    T_CHECK(has(g_out, "6-10"));
    T_CHECK(has(g_out, "4-7"));
    T_CHECK(has(g_out, "\"Setting up basics...\""));
    T_CHECK(has(g_out, "\"Defining personality...\""));
    T_CHECK(has(g_out, "\"Choosing model...\""));
    T_CHECK(has(g_out, "\"Selecting skills...\""));
    T_CHECK(has(g_out, "\"Final review...\""));
    T_CHECK(has(g_out, "ready_to_assemble and the full config"));
    T_CHECK(has(g_out, "\n\nRespond with exactly one JSON object matching this schema and nothing"
                       " else:\n{\n"));
    T_CHECK(has(g_out, "}\n</builder_instructions>\n\n<accumulated_context>\n"));
    T_CHECK(has(g_out, "Initial description: A bot that tracks ML papers\n"));
    T_CHECK(has(g_out, "Current phase: basics (Setting up basics...)\n"));
    T_CHECK(has(g_out, "Answers so far: none yet.\n"));
    T_CHECK(!has(g_out, "<current_config>"));
    T_CHECK(!has(g_out, "reconfiguration"));
    T_CHECK(strcmp(g_out + len - strlen("</accumulated_context>"), "</accumulated_context>") == 0);
    T_EQ_INT(schema_objects(g_out), 10);
    full = len;
    T_EQ_INT(bprompt_system(&p, g_out, full + 1u, &len), ST_OK);
    T_EQ_INT(bprompt_system(&p, g_out, full, &len), ST_TOOBIG);

    /* the last five pairs, oldest first; the config when there is one */
    for (i = 0u; i < 7u; i++) {
        qa[i].phase = (i < 4u) ? BPHASE_BASICS : BPHASE_PERSONALITY;
        qa[i].question = strv_from_cstr(qs[i]);
        qa[i].answer = strv_from_cstr("an answer");
    }
    p.qa = qa;
    p.nqa = 7u;
    p.phase = BPHASE_PERSONALITY;
    p.config = STRV_LIT("{\"name\":\"Paper Scout\"}");
    T_EQ_INT(bprompt_system(&p, g_out, sizeof g_out, &len), ST_OK);
    T_CHECK(!has(g_out, "first q"));
    T_CHECK(!has(g_out, "second q"));
    T_CHECK(has(g_out, "(oldest first; the last 5 of 7):\n- [basics] Q: third q\n  A: an answer\n"));
    T_CHECK(has(g_out, "- [personality] Q: seventh q\n  A: an answer\n</accumulated_context>"));
    T_CHECK(strstr(g_out, "third q") < strstr(g_out, "fourth q"));
    T_CHECK(strstr(g_out, "sixth q") < strstr(g_out, "seventh q"));
    T_CHECK(has(g_out, "Current phase: personality (Defining personality...)\n"));
    T_CHECK(strcmp(g_out + len - strlen("</accumulated_context>\n\n<current_config>\n"
                                        "{\"name\":\"Paper Scout\"}\n</current_config>"),
                   "</accumulated_context>\n\n<current_config>\n{\"name\":\"Paper Scout\"}\n"
                   "</current_config>") == 0);
    p.nqa = 2u;
    p.config = STRV_LIT("  ");
    T_EQ_INT(bprompt_system(&p, g_out, sizeof g_out, &len), ST_OK);
    T_CHECK(has(g_out, "Answers so far (oldest first):\n- [basics] Q: first q\n"));
    T_CHECK(has(g_out, "second q"));
    T_CHECK(!has(g_out, "third q"));
    T_CHECK(!has(g_out, "<current_config>"));

    /* the modes */
    p.mode = BMODE_RECONFIGURE;
    T_EQ_INT(bprompt_system(&p, g_out, sizeof g_out, &len), ST_OK);
    T_CHECK(has(g_out, "<builder_instructions>\nMode: bot reconfiguration."));
    T_CHECK(has(g_out, "First show the current configuration"));
    T_CHECK(has(g_out, "what the user would like to adjust"));
    T_EQ_INT(schema_objects(g_out), 10);
    p.mode = BMODE_SKILL;
    T_EQ_INT(bprompt_system(&p, g_out, sizeof g_out, &len), ST_OK);
    T_CHECK(has(g_out, "<builder_instructions>\nMode: new skill creation."));
    T_CHECK(has(g_out, "trigger conditions"));
    T_CHECK(has(g_out, "local (a prompt skill"));
    T_CHECK(has(g_out, "wasm\n(a tool skill"));
    T_CHECK(has(g_out, "capabilities it needs"));
    T_CHECK(has(g_out, "Always include an \"Other\" option"));
    T_EQ_INT(schema_objects(g_out), 10);
}

static void test_prompt_skill(void)
{
    size_t len = 0u;
    T_EQ_INT(bprompt_skill_system(true, g_out, sizeof g_out, &len), ST_OK);
    T_EQ_INT(len, strlen(g_out));
    T_CHECK(has(g_out, "agentskills.io"));
    T_CHECK(has(g_out, "  version: \"0.1.0\"\n  skill-type: tool\n"));
    T_CHECK(has(g_out, "author: \"builder\""));
    T_CHECK(has(g_out, "categories:"));
    T_CHECK(has(g_out, "boternity:skill/execute"));
    T_CHECK(has(g_out, "execute: func(input: string) -> result<string, string>"));
    T_CHECK(has(g_out, "read_file, write_file, http_get, http_post, exec_command,\nread_env,"
                       " recall_memory and get_secret"));
    T_CHECK(has(g_out, "\"source_code\": \"<the whole Rust source>\"}"));
    T_CHECK(!has(g_out, "skill-type: prompt"));
    T_EQ_INT(bprompt_skill_system(true, g_out, len, &len), ST_TOOBIG);
    T_EQ_INT(bprompt_skill_system(false, g_out, sizeof g_out, &len), ST_OK);
    T_CHECK(has(g_out, "  version: \"0.1.0\"\n  skill-type: prompt\n"));
    T_CHECK(has(g_out, "Set\nsource_code to null."));
    T_CHECK(has(g_out, "\"source_code\": null}"));
    T_CHECK(!has(g_out, "boternity:skill/execute"));
    T_CHECK(!has(g_out, "skill-type: tool"));

    T_EQ_INT(bprompt_skill_user(STRV_LIT("arxiv-search"), STRV_LIT("Search arXiv for papers"),
                                true, STRV_LIT("[\"http_get\"]"), g_out, sizeof g_out, &len),
             ST_OK);
    T_EQ_STR(g_out, "Create a skill called \"arxiv-search\".\n\nWhat it does: Search arXiv for"
                    " papers\n\nType: wasm (a tool skill, skill-type: tool, with its Rust"
                    " source).\n\nCapabilities requested (use exactly these): [\"http_get\"]");
    T_EQ_INT(bprompt_skill_user(STRV_LIT("n"), STRV_LIT("d"), false, STRV_NULL, g_out,
                                sizeof g_out, &len),
             ST_OK);
    T_CHECK(has(g_out, "Type: local (a prompt skill, skill-type: prompt, no source code)."));
    T_CHECK(has(g_out, "Capabilities: none requested; choose the ones the skill needs."));
    T_EQ_INT(bprompt_skill_user(STRV_LIT("n"), STRV_LIT("d"), false, STRV_LIT(" [] "), g_out,
                                sizeof g_out, &len),
             ST_OK);
    T_CHECK(has(g_out, "none requested"));
    T_EQ_INT(bprompt_skill_user(STRV_LIT("n"), STRV_LIT("d"), false, STRV_LIT("null"), g_out,
                                sizeof g_out, &len),
             ST_OK);
    T_CHECK(has(g_out, "none requested"));
    T_EQ_INT(bprompt_skill_user(STRV_LIT("n"), STRV_LIT("d"), false, STRV_NULL, g_out, 10u, &len),
             ST_TOOBIG);
}

/* ---- skill generation replies ---------------------------------------------------------- */

static char g_md[4096];
static char g_src[1024];
static bskill_reply g_sr;

static st_t skill(const char *reply, const char *name, bool wasm)
{
    const char *text = J(reply);
    g_reason[0] = '\0';
    memset(g_md, 0x5A, sizeof g_md);
    memset(g_src, 0x5A, sizeof g_src);
    return bskill_parse(text, strlen(text), strv_from_cstr(name), wasm, g_md, sizeof g_md, g_src,
                        sizeof g_src, &g_sr, g_reason, sizeof g_reason);
}

static void md_is(const char *want)
{
    T_EQ_INT(g_sr.md_len, strlen(want));
    T_EQ_STR(g_md, want);
}

static void skill_bad(const char *reply, bool wasm, const char *reason)
{
    T_EQ_INT(skill(reply, "my-skill", wasm), ST_BAD);
    T_EQ_STR(g_reason, reason);
    T_CHECK(!json_pool_busy());
}

#define CAPS_ALL "'capabilities':[{'capability':'http_get','reason':'r'}," \
                 "{'capability':'teleport','reason':'r'},{'capability':'read_file','reason':'r'}," \
                 "{'reason':'no name'},7,'get_secret']"

static void test_skill_reply(void)
{
    skillmd m;

    /* local: name rewritten, skill-type rewritten, source ignored, bad capabilities skipped */
    T_EQ_INT(skill("{'skill_md':'---\\nname: wrong-name\\ndescription: Search arXiv\\nmetadata:\\n"
                   "  version: \\'0.1.0\\'\\n  skill-type: tool\\n  author: builder\\n---\\n\\n# x\\n',"
                   CAPS_ALL ",'source_code':'fn main() {}'}",
                   "arxiv-search", false),
             ST_OK);
    md_is("---\nname: arxiv-search\ndescription: Search arXiv\nmetadata:\n  version: \"0.1.0\"\n"
          "  skill-type: prompt\n  author: builder\n---\n\n# x\n");
    T_EQ_INT(g_sr.src_len, 0);
    T_EQ_INT(g_sr.caps, (1u << 0) | (1u << 2) | (1u << 7));
    T_CHECK(strv_eq_cstr(g_sr.description, "Search arXiv"));
    T_CHECK((g_sr.description.p >= g_md) && (g_sr.description.p < g_md + sizeof g_md));
    T_EQ_INT((unsigned char)g_src[0], 0x5A);
    T_CHECK(!json_pool_busy());
    T_EQ_INT(skillmd_parse(g_md, g_sr.md_len, &m), ST_OK);
    T_CHECK(strv_eq_cstr(m.name, "arxiv-search"));

    /* wasm: skill-type added as metadata's first key, with its indentation */
    T_EQ_INT(skill("```json\n{'skill_md':'---\\nname: arxiv-search\\ndescription: d\\nmetadata:\\n"
                   "    version: \\'0.1.0\\'\\n    capabilities: [http_get]\\n---\\nbody',"
                   "'capabilities':null,'source_code':'use x;\\nfn execute() {}'}\n```",
                   "arxiv-search", true),
             ST_OK);
    md_is("---\nname: arxiv-search\ndescription: d\nmetadata:\n    skill-type: tool\n"
          "    version: \"0.1.0\"\n    capabilities: [http_get]\n---\nbody");
    T_EQ_INT(g_sr.src_len, strlen("use x;\nfn execute() {}"));
    T_EQ_MEM(g_src, g_sr.src_len, "use x;\nfn execute() {}");
    T_EQ_INT(g_sr.caps, 0);

    /* no name, no metadata: both added; leading whitespace dropped */
    T_EQ_INT(skill("{'skill_md':'\\n\\n  ---\\ndescription: d # comment\\nlicense: MIT\\n---\\n\\nbody\\n',"
                   "'capabilities':[]}",
                   "my-skill", false),
             ST_OK);
    md_is("---\nname: my-skill\ndescription: d # comment\nlicense: MIT\nmetadata:\n"
          "  skill-type: prompt\n---\n\nbody\n");
    T_CHECK(strv_eq_cstr(g_sr.description, "d"));

    /* metadata: {} and null become a block; a skill-type under another key stays */
    T_EQ_INT(skill("{'skill_md':'---\\nname: my-skill\\nmetadata: {}\\ndescription: d\\n---\\n'}",
                   "my-skill", true),
             ST_BAD);
    T_EQ_STR(g_reason, "field 'source_code' missing (a wasm skill needs its Rust source)");
    T_EQ_INT(skill("{'skill_md':'---\\nname: my-skill\\nmetadata: {}\\ndescription: d\\n---\\n',"
                   "'source_code':'x'}",
                   "my-skill", true),
             ST_OK);
    md_is("---\nname: my-skill\nmetadata:\n  skill-type: tool\ndescription: d\n---\n");
    T_EQ_INT(skill("{'skill_md':'---\\nname: my-skill\\ndescription: d\\nmetadata: null\\n---\\n'}",
                   "my-skill", false),
             ST_OK);
    md_is("---\nname: my-skill\ndescription: d\nmetadata:\n  skill-type: prompt\n---\n");
    T_EQ_INT(skill("{'skill_md':'---\\nname: my-skill\\ndescription: d\\nmetadata:\\n  parents:\\n"
                   "    - a\\n  skill-type: \\'tool\\'\\nother:\\n  skill-type: x\\n---\\n'}",
                   "my-skill", false),
             ST_OK);
    md_is("---\nname: my-skill\ndescription: d\nmetadata:\n  parents:\n    - a\n"
          "  skill-type: prompt\nother:\n  skill-type: x\n---\n");
    /* CRLF lines; quoted values with escapes: the description is decoded */
    T_EQ_INT(skill("{'skill_md':'---\\r\\nname: \\'old\\'\\r\\ndescription: \\'Say \\\\\\'hi\\\\\\'\\'\\r\\n"
                   "---\\r\\nbody'}",
                   "my-skill", false),
             ST_OK);
    md_is("---\r\nname: my-skill\ndescription: \"Say \\\"hi\\\"\"\r\nmetadata:\n"
          "  skill-type: prompt\n---\r\nbody");
    T_CHECK(strv_eq_cstr(g_sr.description, "Say \"hi\""));

    /* local: a source of any type is ignored */
    T_EQ_INT(skill("{'skill_md':'---\\nname: s\\ndescription: d\\n---\\n','source_code':7}",
                   "my-skill", false),
             ST_OK);
    T_EQ_INT(g_sr.src_len, 0);
    /* plain strings as capabilities */
    T_EQ_INT(skill("{'skill_md':'---\\nname: s\\ndescription: d\\n---\\n',"
                   "'capabilities':['exec_command','read_env','nope']}",
                   "my-skill", false),
             ST_OK);
    T_EQ_INT(g_sr.caps, (1u << 4) | (1u << 5));

    /* failures */
    skill_bad("{'skill_md':'---\\nname: s\\ndescription: d\\n---\\n'}", true,
              "field 'source_code' missing (a wasm skill needs its Rust source)");
    skill_bad("{'skill_md':'---\\nname: s\\ndescription: d\\n---\\n','source_code':null}", true,
              "field 'source_code' missing (a wasm skill needs its Rust source)");
    skill_bad("{'skill_md':'---\\nname: s\\ndescription: d\\n---\\n','source_code':' \\n '}", true,
              "field 'source_code' missing (a wasm skill needs its Rust source)");
    skill_bad("{'skill_md':'---\\nname: s\\ndescription: d\\n---\\n','source_code':['x']}", true,
              "field 'source_code' missing (a wasm skill needs its Rust source)");
    skill_bad("{'skill_md':'---\\nname: s\\ndescription: d\\n---\\n','source_code':'a\\u0000'}", true,
              "field 'source_code' contains U+0000");
    skill_bad("{'capabilities':[]}", false, "field 'skill_md' missing");
    skill_bad("{'skill_md':null}", false, "field 'skill_md' is not a string");
    skill_bad("{'skill_md':'---\\nname: s\\ndescription: d\\n---\\n','capabilities':'http_get'}",
              false, "field 'capabilities' is not an array or null");
    skill_bad("{'skill_md':'# Just a heading\\n\\nNo frontmatter.'}", false,
              "SKILL.md has no frontmatter");
    skill_bad("{'skill_md':''}", false, "SKILL.md has no frontmatter");
    skill_bad("{'skill_md':'---\\nname: s\\ndescription: d\\n'}", false,
              "SKILL.md frontmatter is not closed");
    skill_bad("{'skill_md':'---\\nname: s\\n---\\nbody'}", false,
              "SKILL.md frontmatter does not parse or has no description");
    skill_bad("{'skill_md':'---\\nname: s\\ndescription: |\\n  multi\\n---\\n'}", false,
              "SKILL.md frontmatter does not parse or has no description");
    skill_bad("{'skill_md':'---\\nname: s\\ndescription: d\\n\\tbad: tab\\n---\\n'}", false,
              "SKILL.md frontmatter does not parse or has no description");
    skill_bad("{'skill_md':'a\\u0000'}", false, "field 'skill_md' contains U+0000");
    skill_bad("no object here", false, "no JSON object in the reply");
    skill_bad("{'skill_md':'x',}", false,
              "invalid JSON: Expecting property name enclosed in double quotes");
}

static void test_skill_room(void)
{
    const char *text = J("{'skill_md':'---\\nname: s\\ndescription: \\'quoted\\'\\n---\\n',"
                         "'source_code':'0123456789'}");
    const char *want = "---\nname: my-skill\ndescription: \"quoted\"\nmetadata:\n"
                       "  skill-type: tool\n---\n";
    size_t need = strlen(want) + 1u + strlen("quoted") + 1u;
    char md[256];
    char src[16];
    T_EQ_INT(bskill_parse(text, strlen(text), STRV_LIT("my-skill"), true, md, need, src,
                          sizeof src, &g_sr, g_reason, sizeof g_reason),
             ST_OK);
    T_EQ_STR(md, want);
    T_CHECK(strv_eq_cstr(g_sr.description, "quoted"));
    T_CHECK(g_sr.description.p + g_sr.description.n + 1u == md + need);
    T_EQ_INT(bskill_parse(text, strlen(text), STRV_LIT("my-skill"), true, md, need - 1u, src,
                          sizeof src, &g_sr, g_reason, sizeof g_reason),
             ST_TOOBIG);
    T_EQ_INT(bskill_parse(text, strlen(text), STRV_LIT("my-skill"), true, md, 20u, src,
                          sizeof src, &g_sr, g_reason, sizeof g_reason),
             ST_TOOBIG);
    T_EQ_INT(bskill_parse(text, strlen(text), STRV_LIT("my-skill"), true, md, sizeof md, src,
                          10u, &g_sr, g_reason, sizeof g_reason),
             ST_TOOBIG);
    T_EQ_INT(bskill_parse(text, strlen(text), STRV_LIT("my-skill"), true, md, sizeof md, src,
                          11u, &g_sr, g_reason, sizeof g_reason),
             ST_OK);
    T_CHECK(!json_pool_busy());
}

int main(void)
{
    T_RUN(test_phases);
    T_RUN(test_reply_framing);
    T_RUN(test_ask_question);
    T_RUN(test_show_preview);
    T_RUN(test_ready_to_assemble);
    T_RUN(test_turn_failures);
    T_RUN(test_turn_output_room);
    T_RUN(test_option_label_and_question);
    T_RUN(test_answers);
    T_RUN(test_answer_messages);
    T_RUN(test_config_limits);
    T_RUN(test_category);
    T_RUN(test_soul);
    T_RUN(test_user);
    T_RUN(test_stub);
    T_RUN(test_identity);
    T_RUN(test_prompt_system);
    T_RUN(test_prompt_skill);
    T_RUN(test_skill_reply);
    T_RUN(test_skill_room);
    return t_done("bturn");
}
