//! Word lists for fictitious demo people and organisations. Family names are common Hong Kong
//! (Cantonese) romanisations; given names are common English names. Combined at random they name
//! no real person. School and partner names are invented and always carry the `DEMO-` prefix.

/// Common Hong Kong family names with their Chinese characters. Repeats weight the most common.
pub const FAMILY_NAMES: &[(&str, &str)] = &[
    ("Chan", "陳"),
    ("Chan", "陳"),
    ("Chan", "陳"),
    ("Wong", "黃"),
    ("Wong", "黃"),
    ("Wong", "黃"),
    ("Lee", "李"),
    ("Lee", "李"),
    ("Cheung", "張"),
    ("Cheung", "張"),
    ("Lau", "劉"),
    ("Lau", "劉"),
    ("Ng", "吳"),
    ("Ho", "何"),
    ("Leung", "梁"),
    ("Leung", "梁"),
    ("Yip", "葉"),
    ("Tang", "鄧"),
    ("Lam", "林"),
    ("Lam", "林"),
    ("Chow", "周"),
    ("Tsang", "曾"),
    ("Yeung", "楊"),
    ("Kwok", "郭"),
    ("Mak", "麥"),
    ("Fung", "馮"),
    ("Lo", "盧"),
    ("Choi", "蔡"),
    ("Tse", "謝"),
    ("Chu", "朱"),
    ("Poon", "潘"),
    ("Tam", "譚"),
    ("So", "蘇"),
    ("Lai", "黎"),
    ("Yuen", "袁"),
    ("Siu", "蕭"),
    ("Hui", "許"),
    ("Ma", "馬"),
    ("Au", "區"),
    ("Kong", "江"),
    ("Wan", "溫"),
    ("Chung", "鍾"),
];

/// Characters for the given part of a Chinese name (two are drawn).
pub const GIVEN_ZH: &[&str] = &[
    "嘉", "欣", "俊", "傑", "詠", "雅", "浩", "然", "思", "穎", "家", "樂", "子", "晴", "宇", "軒",
    "曉", "彤", "志", "明", "凱", "琳", "卓", "希", "慧", "敏", "建", "華", "偉", "文", "朗", "心",
];

/// Common English given names, female.
pub const GIVEN_FEMALE: &[&str] = &[
    "Karen",
    "Winnie",
    "Cherry",
    "Vivian",
    "Mandy",
    "Chloe",
    "Hailey",
    "Natalie",
    "Tiffany",
    "Bonnie",
    "Janice",
    "Phoebe",
    "Sharon",
    "Queenie",
    "Angel",
    "Elaine",
    "Joyce",
    "Ada",
    "Cathy",
    "Fiona",
    "Sandy",
    "Carmen",
    "Iris",
    "Michelle",
    "Grace",
    "Helen",
    "Jasmine",
    "Kayla",
    "Zoe",
    "Yoyo",
    "Stephanie",
    "Emily",
    "Charlotte",
    "Hazel",
    "Renee",
    "Wing",
];

/// Common English given names, male.
pub const GIVEN_MALE: &[&str] = &[
    "Jason", "Kelvin", "Ivan", "Alvin", "Kenneth", "Marcus", "Ethan", "Ryan", "Justin", "Anson",
    "Matthew", "Isaac", "Oscar", "Tommy", "Brian", "Dicky", "Ken", "Samuel", "Eric", "Gary",
    "Jacky", "Terence", "Wilson", "Raymond", "Felix", "Calvin", "Edwin", "Hugo", "Leo", "Nathan",
    "Aaron", "Derek", "Hayden", "Louis", "Timothy", "Chun",
];

/// The 18 districts of Hong Kong.
pub const DISTRICTS: &[&str] = &[
    "Central and Western",
    "Wan Chai",
    "Eastern",
    "Southern",
    "Yau Tsim Mong",
    "Sham Shui Po",
    "Kowloon City",
    "Wong Tai Sin",
    "Kwun Tong",
    "Kwai Tsing",
    "Tsuen Wan",
    "Tuen Mun",
    "Yuen Long",
    "North",
    "Tai Po",
    "Sha Tin",
    "Sai Kung",
    "Islands",
];

/// First words of the fictitious school names (14 × 5 = 70 distinct combinations).
pub const SCHOOL_FIRST: &[&str] = &[
    "Azure",
    "Bamboo",
    "Cedar",
    "Dawnlight",
    "Evergreen",
    "Fernleaf",
    "Granite",
    "Heron",
    "Ivory",
    "Jade Lantern",
    "Kingfisher",
    "Lotus Pond",
    "Maple",
    "Northstar",
];

/// Second words of the fictitious school names.
pub const SCHOOL_SECOND: &[&str] = &["Harbour", "Valley", "Ridge", "Garden", "Bay"];

/// The 27 fictitious industry partners `org-partner-demo-01`..`-27`: (the name between `DEMO- `
/// and ` Limited`, industry sectors).
pub const DEMO_PARTNERS: &[(&str, &[&str])] = &[
    ("Harbourline Analytics", &["ict", "dataAnalytics"]),
    ("Kowloon Data Works", &["ict", "dataAnalytics"]),
    ("Peakview Cloud Services", &["ict", "cloudComputing"]),
    ("Lion Rock Robotics", &["ict", "engineering"]),
    ("Victoria Fintech Labs", &["financialServices", "ict"]),
    ("Jade Bridge Logistics", &["logistics"]),
    ("Pearl Delta Green Energy", &["energy", "utilities"]),
    ("Starferry Media Studio", &["creativeMedia"]),
    ("Neon Sign Animation", &["creativeMedia", "animation"]),
    ("Tram Street Games", &["creativeMedia", "gaming"]),
    ("Skyline Cybersecurity", &["ict", "cybersecurity"]),
    (
        "Junk Boat Digital Marketing",
        &["marketing", "creativeMedia"],
    ),
    ("Typhoon Signal Software", &["ict", "software"]),
    ("Dim Sum Design House", &["design", "creativeMedia"]),
    ("Bauhinia Health Informatics", &["healthcare", "ict"]),
    ("Mid-Levels Property Tech", &["realEstate", "ict"]),
    ("Tai Hang Sound and Vision", &["creativeMedia", "film"]),
    ("Lamma Island Ecotech", &["environment", "engineering"]),
    ("Sai Kung Smart Mobility", &["transport", "ict"]),
    ("Cheung Chau XR Lab", &["creativeMedia", "extendedReality"]),
    (
        "Tsim Sha Tsui Retail Insights",
        &["retail", "dataAnalytics"],
    ),
    ("Aberdeen Marine Systems", &["engineering", "logistics"]),
    ("Lantau AI Solutions", &["ict", "artificialIntelligence"]),
    ("Shek O Broadcasting", &["creativeMedia", "broadcasting"]),
    ("Mong Kok Start-up Studio", &["ict", "entrepreneurship"]),
    (
        "Tsuen Wan Precision Manufacturing",
        &["manufacturing", "engineering"],
    ),
    ("Sha Tin Learning Technologies", &["education", "ict"]),
];

/// Reasons recorded when a pathway enrolment is put on hold.
pub const HOLD_REASONS: &[&str] = &[
    "Medical leave",
    "Family circumstances",
    "Study load review with the school",
    "Extended absence from Hong Kong",
];

/// A lower-case ASCII form of a name for e-mail addresses (`Jade Lantern` → `jadelantern`).
pub fn email_part(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_have_the_sizes_the_plan_relies_on() {
        assert_eq!(DISTRICTS.len(), 18);
        assert_eq!(DEMO_PARTNERS.len(), 27);
        assert_eq!(SCHOOL_FIRST.len() * SCHOOL_SECOND.len(), 70);
        assert_eq!(email_part("Jade Lantern"), "jadelantern");
    }
}
